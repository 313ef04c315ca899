#!/usr/bin/env bash
# Runs on the GPU machine after scripts/gpu/train-judge.sh: waits for training to end (at most $WAIT
# seconds), evaluates the checkpoint on the eval set, and copies the checkpoint to $OUT in
# parts under 16 MiB (reassemble with: cat model.safetensors.part-* > model.safetensors).
# EVAL=0 skips the evaluation (scripts/gpu/eval-judge.sh does it, with ROC curves).
set -u
WAIT=${WAIT:-480}
for _ in $(seq 1 $((WAIT / 10))); do
  pgrep -f "deepprune judge train" > /dev/null || break
  sleep 10
done
tail -n 30 /tmp/train.log
if pgrep -f "deepprune judge train" > /dev/null; then echo "training still running"; exit 0; fi
mkdir -p "$OUT/judge"
cp /tmp/judge/config.json /tmp/judge/train.json /tmp/judge/tokenizer.json "$OUT/judge/"
split -b 15M -d /tmp/judge/model.safetensors "$OUT/judge/model.safetensors.part-"
cp /tmp/train.log "$OUT/train.log"
[ "${EVAL:-1}" = 0 ] && exit 0
/tmp/bin/deepprune judge eval --judge /tmp/judge --problems .carry/data/problems.jsonl \
  --traces .carry/data/traces-eval.jsonl.gz --device cuda --base .carry/base --json \
  | tee "$OUT/eval.json"
