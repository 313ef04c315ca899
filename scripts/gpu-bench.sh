#!/usr/bin/env bash
# Runs on the GPU machine: waits for the ablations (at most $WAIT s) and collects them, then the
# judge throughput benchmark, Burn (cold then warm CubeCL caches) and PyTorch, back to back.
set -u
WAIT=${WAIT:-120}
for _ in $(seq 1 $((WAIT / 10))); do
  grep -q '^done' /tmp/ablate.log 2>/dev/null && break
  sleep 10
done
cat /tmp/ablate.log 2>/dev/null
for d in /tmp/ablate-*/; do n=$(basename "$d"); cp "$d/train.json" "$OUT/$n.json" 2>/dev/null; done
pkill -f "judge train" 2>/dev/null
B=/tmp/bin/deepprune
echo "== bench: burn cuda bf16, cold caches"
mkdir -p /tmp/kept && mv target/cuda target/autotune /tmp/kept/ 2>/dev/null
$B bench judge --device cuda --max-len 512 --batch 64,128 --pairs 4096 --json > /tmp/bench.jsonl
echo "== bench: burn cuda bf16, warm caches"
$B bench judge --device cuda --max-len 512 --batch 64,128 --pairs 4096 --json >> /tmp/bench.jsonl
echo "== bench: torch bf16 sdpa"
python3 scripts/bench_torch_judge.py --model .carry/base --max-len 512 --batch 64,128 --pairs 4096 >> /tmp/bench.jsonl
cp /tmp/bench.jsonl "$OUT/bench.jsonl"; cat /tmp/bench.jsonl
