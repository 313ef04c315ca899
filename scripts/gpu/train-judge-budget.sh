#!/usr/bin/env bash
# On the GPU machine, in one call: trains training/judge-minilm-both.yaml within a time budget,
# twice side by side (Burn's kernel fusion on and off: on a cold machine, compiling and tuning the
# fused training kernels has taken longer than a whole call), keeps the run with the better
# validation figure (the config's `select`; never the eval set), evaluates it on both regimes'
# eval sets, and runs the model rows of sweeps/frontier-1.5b.yaml until $DEADLINE seconds.
#
# Carried (scripts/dev/carry-prep.py --no-base --train-prefix 256 --xz, then the binary):
#   models/judge-minilm (the starting checkpoint, in the tree), .carry/bin/deepprune.xz,
#   .carry/data/{problems.jsonl, traces-*.jsonl.xz}, and .carry/cubecl.txz if a call brought it back.
# With the checkpoint in the tree the call is within 64 MiB only with docs/, src/, tests/, fuzz/,
# assets/ and data/ moved out of the checkout (the binary needs none of them).
# Environment: TRAIN_SECONDS (default 300), DEADLINE (default 570), VARIANTS (default "fused
# unfused"), EVAL_PAIRS (default 40000; all for every pair), VALIDATE_EVERY (steps, default 300),
# VALIDATION_PAIRS (default 8000); TRAIN_RESERVE and EVAL_RESERVE (seconds before DEADLINE that
# training and the evaluation must end by; defaults 150 and 60).
# Writes to $OUT: judge.tar (config, train.json, tokenizer), model.safetensors.part-*, eval.jsonl,
# frontier.tar, cubecl.txz and each variant's train log (train-v-*.log).
set -u
DEADLINE=${DEADLINE:-570} TRAIN_SECONDS=${TRAIN_SECONDS:-300}
source scripts/gpu/one-call.sh
# Each variant compiles into its own cache (CubeCL finds target/ beside the nearest Cargo.toml).
# Caches do not merge (same file names); the kept variant's becomes target/'s before the evaluation,
# and if none is kept, the last variant's comes back. The train logs come back however it ends.
kept=""
pack() {
  for v in /tmp/v-*; do
    [ -z "$kept" ] && [ -d "$v/target" ] && cp -r "$v/target/." target/ 2>/dev/null
    [ -f "$v/train.log" ] && plain "$v/train.log" > "$OUT/train-$(basename $v).log"
  done
  bash scripts/gpu/cubecl-cache.sh export
}
trap pack EXIT
export RUST_LOG=${RUST_LOG:-info}
at "data and binary unpacked; training ${VARIANTS:-fused unfused} for $TRAIN_SECONDS s"
for v in ${VARIANTS:-fused unfused}; do
  w=/tmp/v-$v && mkdir -p $w && cp cubecl.toml $w/ && touch $w/Cargo.toml && cp -r target $w/ 2>/dev/null
  fusion=true; [ $v = unfused ] && fusion=false
  sed -e "s#^init: .*#init: $ROOT/models/judge-minilm#" -e "s#\.\./\.\./shared/data/\(.*\)\.gz#$D/\1#" \
    -e "s#\.\./data/train/\(.*\)\.gz#$D/\1#" -e "s#^output: .*#output: $w/judge#" \
    -e "s#^fusion: .*#fusion: $fusion#" -e "s#^max_seconds: .*#max_seconds: $TRAIN_SECONDS#" \
    -e "s#^validate_every: .*#validate_every: ${VALIDATE_EVERY:-300}#" \
    -e "s#^validation_max_pairs: .*#validation_max_pairs: ${VALIDATION_PAIRS:-8000}#" training/judge-minilm-both.yaml > $w/train.yaml
  (cd $w && upto ${TRAIN_RESERVE:-150} $B judge train $w/train.yaml --quiet > $w/train.log 2>&1; echo "rc $?" >> $w/train.log) &
done
wait
best="" score=-1
for v in ${VARIANTS:-fused unfused}; do
  w=/tmp/v-$v
  at "$v: $(plain $w/train.log | grep -E '^(epoch|rc)|pairs_per_s=' | tail -n 12)"
  s=$(python3 -c "import json,sys; m=json.load(open(sys.argv[1])); t=m['train']['select']; v=m['validation']; print(v['val_auroc_within' if t=='auroc_within' else 'val_auroc'] or -1)" $w/judge/train.json 2>/dev/null || echo -1)
  at "$v: validation $s"
  if python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) > float(sys.argv[2]) else 1)" "$s" "$score"; then best=$w score=$s; fi
done
[ -n "$best" ] || { at "no variant saved a checkpoint"; exit 1; }
at "kept $best (validation $score)"
cp -r $best/target/. target/ 2>/dev/null; kept=$best
J=$best/judge
mkdir -p /tmp/pack && cp $J/config.json $J/train.json $J/tokenizer.json /tmp/pack/
tar cf "$OUT/judge.tar" -C /tmp/pack .
split -b 15M -d $J/model.safetensors "$OUT/model.safetensors.part-"
# Both eval sets at each cut the judge was trained at: a sample of $EVAL_PAIRS pairs, stratified
# by problem (EVAL_PAIRS=all: every pair).
pairs=(--max-pairs ${EVAL_PAIRS:-40000}); [ "${EVAL_PAIRS:-}" = all ] && pairs=()
upto ${EVAL_RESERVE:-60} $B judge eval --judge $J --problems $D/problems.jsonl --device cuda \
  --base none --traces $D/traces-eval-1.5b.jsonl --traces $D/traces-eval.jsonl "${pairs[@]}" --json | tee "$OUT/eval.jsonl"
at "eval done"
sed -e "s#^  model: .*#  model: $J#" sweeps/frontier-1.5b.yaml > /tmp/frontier-1.5b.yaml
sed -i "s#^pipeline: .*#pipeline: $ROOT/pipelines/replay-eval.yaml#" /tmp/frontier-1.5b.yaml
upto 15 $B sweep /tmp/frontier-1.5b.yaml --judges model --quiet --output /tmp/frontier \
  --set generator.traces=$D/traces-eval-1.5b.jsonl --set generator.problems=$D/problems.jsonl --set judge.device=cuda 2>&1 | tail -n 3
at "sweep stopped; $(wc -l < /tmp/frontier/rows.jsonl 2>/dev/null) rows"
tar cf "$OUT/frontier.tar" -C /tmp frontier 2>/dev/null
