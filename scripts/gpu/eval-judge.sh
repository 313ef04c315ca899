#!/usr/bin/env bash
# Runs on the GPU machine in the same warm session as scripts/gpu/train-judge.sh: evaluates the judge
# in $JUDGE (default /tmp/judge) on the eval set with its ROC curves, and starts the frontier
# sweep's `model` and `embedding` rows (plus cons@N and DeepConf) at $PREFIX tokens in the
# background. Follows the sweep for at most $WAIT seconds; scripts/gpu/collect-judge-eval.sh waits
# for the rest. Needs .carry/data/traces-eval.jsonl.gz WITH `conf` (for the DeepConf rows).
set -u
bash scripts/gpu/unpack-binary.sh /tmp/bin/deepprune
B=/tmp/bin/deepprune
J=${JUDGE:-/tmp/judge}
D=.carry/data
{ sed "s/^  prefix: .*/  prefix: [${PREFIX:-128}]/; s#^output: .*#output: /tmp/frontier-gpu#; s#^pipeline: \.\./#pipeline: $PWD/#" sweeps/frontier.yaml
  printf 'judge_paths:\n  model: %s\n  embedding: .carry/base\n' "$J"; } > /tmp/frontier-gpu.yaml
setsid nohup $B sweep /tmp/frontier-gpu.yaml --judges model,embedding \
  --set generator.problems=$D/problems.jsonl --set generator.traces=$D/traces-eval.jsonl.gz \
  --set judge.device=cuda > /tmp/sweep.log 2>&1 < /dev/null &
$B judge eval --judge "$J" --problems $D/problems.jsonl --traces $D/traces-eval.jsonl.gz \
  --device cuda --base .carry/base --json --roc "$OUT/roc" | tee "$OUT/eval.json"
WAIT=${WAIT:-300}
for _ in $(seq 1 $((WAIT / 10))); do
  pgrep -f "deepprune sweep" > /dev/null || break
  sleep 10
done
tail -n 20 /tmp/sweep.log
