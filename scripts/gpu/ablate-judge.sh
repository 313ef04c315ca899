#!/usr/bin/env bash
# Runs on the GPU machine: short ablation trainings (1 epoch capped at 500 steps of 64 pairs,
# validation on 4,000 held-out pairs) for docs/judge.md, in the background so they outlive one
# call; follows them for at most $WAIT seconds. Results: /tmp/ablate-NAME/train.json.
# Every row names its loss, oversampling and prefix explicitly, so rows stay comparable when
# training/judge-minilm.yaml changes. ONLY="words25 tokens256" runs just those rows.
set -u
[ -x /tmp/bin/deepprune ] || bash scripts/gpu/unpack-binary.sh /tmp/bin/deepprune
{ echo "ONLY='${ONLY:-}'"; cat <<'INNER'
B=/tmp/bin/deepprune
ablate() {
  local name=$1; shift
  if [ -n "${ONLY:-}" ] && ! [[ " $ONLY " == *" $name "* ]]; then return; fi
  $B judge train training/judge-minilm.yaml --quiet --set base=.carry/base \
    --set loss=focal --set oversample=3 --set truncator.mode=tokens --set truncator.count=64 \
    --set max_len=256 --set buckets=[128,192,256] \
    --set traces=.carry/data/traces-train.jsonl.gz --set epochs=1 --set max_steps_per_epoch=500 \
    --set validation_max_pairs=4000 --set output=/tmp/ablate-$name "$@" > /tmp/ablate-$name.log 2>&1
  echo "$name $(grep '^epoch' /tmp/ablate-$name.log)" >> /tmp/ablate.log
}
export RUST_LOG=warn
ablate tokens64
ablate tokens64-bce --set loss=bce
ablate tokens64-no-oversample --set oversample=1
ablate tokens128 --set truncator.count=128 --set max_len=384 --set buckets=[256,384]
ablate words25 --set truncator.mode=reasoning_words --set truncator.count=25 --set max_len=512 --set buckets=[256,512]
ablate tokens256 --set truncator.count=256 --set max_len=512 --set buckets=[512] --set max_steps_per_epoch=250
echo done >> /tmp/ablate.log
INNER
} > /tmp/ablate-all.sh
setsid nohup bash /tmp/ablate-all.sh > /dev/null 2>&1 < /dev/null &
WAIT=${WAIT:-540}
for _ in $(seq 1 $((WAIT / 10))); do
  sleep 10
  grep -q '^done' /tmp/ablate.log 2>/dev/null && break
done
cat /tmp/ablate.log 2>/dev/null
