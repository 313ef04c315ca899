#!/usr/bin/env bash
# Runs on the GPU machine (see docs/judge.md, "Training and checking a judge"): unpacks the carried binary,
# starts judge training in the background (it outlives one 10-minute call), and follows its log
# for at most $WAIT seconds. Call scripts/gpu/collect-trained-judge.sh afterwards to wait for the end.
# Usage: WAIT=540 scripts/gpu/train-judge.sh [extra --set overrides for deepprune judge train]
set -u
bash scripts/gpu/unpack-binary.sh /tmp/bin/deepprune
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
export RUST_LOG=${RUST_LOG:-info}
setsid nohup /tmp/bin/deepprune judge train training/judge-minilm.yaml --quiet \
  --set base=.carry/base --set traces=.carry/data/traces-train.jsonl.gz --set output=/tmp/judge "$@" \
  > /tmp/train.log 2>&1 < /dev/null &
echo "training started: pid $!"
WAIT=${WAIT:-540}
for _ in $(seq 1 $((WAIT / 10))); do
  sleep 10
  pgrep -f "deepprune judge train" > /dev/null || break
done
tail -n 25 /tmp/train.log
