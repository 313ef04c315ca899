#!/usr/bin/env bash
# Runs on the GPU machine after scripts/gpu-eval.sh: waits for the sweep (at most $WAIT seconds),
# copies its table and plots to $OUT/frontier, then runs the judge throughput breakdown.
set -u
WAIT=${WAIT:-420}
for _ in $(seq 1 $((WAIT / 10))); do
  pgrep -f "deepprune sweep" > /dev/null || break
  sleep 10
done
tail -n 30 /tmp/sweep.log
mkdir -p "$OUT/frontier"
cp /tmp/frontier-gpu/* "$OUT/frontier/" 2>/dev/null
cp /tmp/sweep.log "$OUT/frontier/sweep.log"
/tmp/bin/deepprune bench judge --device cuda --max-len 512 --batch 128 --pairs 2048 --breakdown --json \
  | tee "$OUT/bench-breakdown.jsonl"
