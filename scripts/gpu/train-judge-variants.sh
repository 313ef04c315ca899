#!/usr/bin/env bash
# Runs on the GPU machine: trains judge variants side by side on one GPU (each a set of --set
# overrides of training/judge-minilm.yaml), evaluates each on the eval set, and returns the
# checkpoint with the highest *validation* within-problem AUROC (never picked on the eval set),
# its model.safetensors split into 15 MiB parts (a returned file must be under 16 MiB).
# Every variant's train.json, config.json, eval JSON and log come back in $OUT/variants.tgz.
# Needs .carry/bin/deepprune.xz, .carry/base (scripts/dev/carry-prep.py) and .carry/data; imports
# CubeCL's caches from .carry/cubecl.txz when carried and exports them to $OUT/cubecl.txz (a cold
# start spent about 5.5 minutes compiling and autotuning before training's 200th step).
#   TRAIN_S=420 scripts/gpu/train-judge-variants.sh 'swap=--set swap=true' 'both=--set both_labels_only=true'
# Rejoin the parts here with: cat model.safetensors.part-* > models/judge-minilm/model.safetensors
set -u
B=/tmp/bin/deepprune
D=.carry/data
bash scripts/gpu/unpack-binary.sh $B
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
bash scripts/gpu/cubecl-cache.sh import
export RUST_LOG=${RUST_LOG:-info}
rm -rf /tmp/v && mkdir -p /tmp/v
names=()
for v in "$@"; do
  name=${v%%=*}
  args=${v#*=}
  names+=("$name")
  mkdir -p "/tmp/v/$name"
  # shellcheck disable=SC2086 # $args holds several --set words
  timeout "${TRAIN_S:-420}" $B judge train training/judge-minilm.yaml --quiet --set base=.carry/base \
    --set traces=$D/traces-train.jsonl.gz --set output="/tmp/v/$name/judge" $args \
    > "/tmp/v/$name/train.log" 2>&1 &
done
wait
for name in "${names[@]}"; do
  echo "== $name"; grep -E "^epoch|error|Error" "/tmp/v/$name/train.log" | tail -n 4
  [ -f "/tmp/v/$name/judge/model.safetensors" ] || continue
  $B judge eval --judge "/tmp/v/$name/judge" --problems $D/problems.jsonl --traces $D/traces-eval.jsonl.gz \
    --device cuda --base .carry/base --json > "/tmp/v/$name/eval.json" 2> "/tmp/v/$name/eval.log"
  python3 -c "import json,sys; e=json.load(open(sys.argv[1])); print('eval', {k: e[k] for k in ('auroc','auroc_within','tnr_at_fnr_0_2')})" "/tmp/v/$name/eval.json"
done
best=$(python3 - "${names[@]}" <<'EOF'
import json, sys
best, score = None, -1.0
for name in sys.argv[1:]:
    try:
        v = json.load(open(f"/tmp/v/{name}/judge/train.json"))["validation"]["val_auroc_within"] or -1.0
    except (OSError, KeyError, ValueError):
        continue
    if v > score:
        best, score = name, v
print(best or "")
EOF
)
echo "best by validation within-problem AUROC: ${best:-none}"
if [ -n "$best" ]; then
  split -b 15M -d "/tmp/v/$best/judge/model.safetensors" "$OUT/model.safetensors.part-"
  echo "$best" > /tmp/v/BEST
fi
tar czf "$OUT/variants.tgz" -C /tmp/v --exclude=model.safetensors .
bash scripts/gpu/cubecl-cache.sh export
ls -la "$OUT"
