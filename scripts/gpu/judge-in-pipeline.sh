#!/usr/bin/env bash
# Runs on the GPU machine: the judge's cost inside the pipeline, not in isolation. One sweep row
# (the shipped judge, τ = 0.75, `largest_cluster`, no DeepConf: about 120,000 pairs on the eval
# set) for each judge setting in $SETTINGS (default "model_batch=128 model_batch=256"; a setting
# is comma-separated KEY=VALUE overrides of the judge section), each in its own process; prints
# the row's judge seconds (time inside the judge worker), pairs, batches, forward passes and
# the share of padding rows and tokens the passes ran.
# Needs .carry/bin/deepprune.xz and .carry/data; carries CubeCL's caches when present.
set -u
bash scripts/gpu/unpack-binary.sh /tmp/bin/deepprune
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
bash scripts/gpu/cubecl-cache.sh import
sed -e 's/^  tau: .*/  tau: [0.75]/' -e 's/^  finish: .*/  finish: [largest_cluster]/' -e 's/^  deepconf: .*/  deepconf: []/' \
    -e 's/^  stop_policy: .*/  stop_policy: [none]/' -e "s#^pipeline: \.\./#pipeline: $PWD/#" sweeps/frontier-hybrid.yaml > /tmp/one-row.yaml
# Each setting is a space-free list of comma-separated judge.KEY=VALUE overrides; a value may be
# a list in brackets (buckets=[256,320,384]).
for setting in ${SETTINGS:-model_batch=128 model_batch=256}; do
  sets=()
  # Split on the commas outside [...], so a list value (buckets=[256,320,384]) stays whole.
  while IFS= read -r kv; do sets+=(--set "judge.$kv"); done < <(python3 -c '
import sys
depth, part = 0, ""
for c in sys.argv[1]:
    depth += (c == "[") - (c == "]")
    if c == "," and depth == 0:
        print(part); part = ""
    else:
        part += c
print(part)' "$setting")
  name=$(echo "$setting" | tr -c 'A-Za-z0-9_\n' '_')
  t=$(date +%s)
  timeout ${LIMIT:-280} /tmp/bin/deepprune sweep /tmp/one-row.yaml --output /tmp/one-row-$name \
    --set generator.problems=.carry/data/problems.jsonl --set generator.traces=.carry/data/traces-eval.jsonl.gz \
    --set judge.device=cuda "${sets[@]}" > /dev/null 2> /tmp/one-row-$name.err
  echo "$setting: $(( $(date +%s) - t )) s in all"
  grep -a '^\[' /tmp/one-row-$name.err | tail -1
  tail -1 /tmp/one-row-$name/rows.md
  cp /tmp/one-row-$name/rows.md "$OUT/rows-$name.md" 2>/dev/null
done
bash scripts/gpu/cubecl-cache.sh export
