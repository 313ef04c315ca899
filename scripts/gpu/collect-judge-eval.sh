#!/usr/bin/env bash
# Runs on the GPU machine after scripts/gpu/eval-judge.sh: evaluates the reasoning-words ablation
# checkpoint (/tmp/ablate-words25) in the background, waits for the sweep (at most $WAIT
# seconds), runs the judge throughput breakdown, and returns: frontier.tgz (the sweep's table
# and plots), bench-breakdown.txt, eval-words25.json and roc-words25.tgz.
set -u
B=/tmp/bin/deepprune
D=.carry/data
W=/tmp/ablate-words25
if [ -f $W/model.safetensors ] && [ ! -e /tmp/eval-w25.started ]; then
  touch /tmp/eval-w25.started
  setsid nohup bash -c "$B judge eval --judge $W --problems $D/problems.jsonl --traces $D/traces-eval.jsonl.gz \
    --device cuda --base .carry/base --json --roc /tmp/roc-words25 > /tmp/eval-w25.json 2> /tmp/eval-w25.log" \
    > /dev/null 2>&1 < /dev/null &
fi
WAIT=${WAIT:-420}
for _ in $(seq 1 $((WAIT / 10))); do
  pgrep -f "deepprune sweep" > /dev/null || break
  sleep 10
done
tail -n 30 /tmp/sweep.log
cp /tmp/sweep.log /tmp/frontier-gpu/sweep.log 2>/dev/null
tar czf "$OUT/frontier.tgz" -C /tmp frontier-gpu 2>/dev/null
pgrep -f "deepprune sweep" > /dev/null && echo "SWEEP STILL RUNNING"
$B bench judge --device cuda --max-len 512 --batch 128 --pairs 2048 --breakdown | tee "$OUT/bench-breakdown.txt"
for _ in $(seq 1 40); do pgrep -f "judge eval --judge $W" > /dev/null || break; sleep 5; done
cat /tmp/eval-w25.json; tail -3 /tmp/eval-w25.log
cp /tmp/eval-w25.json "$OUT/eval-words25.json" 2>/dev/null
tar czf "$OUT/roc-words25.tgz" -C /tmp roc-words25 2>/dev/null
ls -la "$OUT"
