#!/usr/bin/env bash
# Runs on the GPU machine (see README, "Training the judge"): unpacks the carried binaries,
# starts judge training in the background (it outlives one 10-minute call), and follows its log
# for at most $WAIT seconds. Call scripts/gpu-collect.sh afterwards to wait for the end.
# Usage: WAIT=540 scripts/gpu-train.sh [extra --set overrides for deepprune judge train]
set -u
mkdir -p /tmp/bin
for f in .carry/bin/*.gz; do n=/tmp/bin/$(basename "$f" .gz); gunzip -c "$f" > "$n.new" && chmod +x "$n.new" && mv -f "$n.new" "$n"; done
chmod +x /tmp/bin/*
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
export RUST_LOG=${RUST_LOG:-info}
setsid nohup /tmp/bin/deepprune judge train configs/judge-minilm.yaml --quiet \
  --set base=.carry/base --set traces=.carry/data/traces-train.jsonl.gz --set output=/tmp/judge "$@" \
  > /tmp/train.log 2>&1 < /dev/null &
echo "training started: pid $!"
WAIT=${WAIT:-540}
for _ in $(seq 1 $((WAIT / 10))); do
  sleep 10
  pgrep -f "deepprune judge train" > /dev/null || break
done
tail -n 25 /tmp/train.log
