#!/usr/bin/env bash
# Runs on the GPU machine: the judge's cost inside the pipeline, not in isolation. One sweep row
# (the shipped judge, τ = 0.75, `largest_cluster`, no DeepConf: about 120,000 pairs on the eval
# set) for each judge setting in $SETTINGS (default "model_batch=128 model_batch=256"; a setting
# is comma-separated KEY=VALUE overrides of the judge section), each in its own process; prints
# the row's judge seconds (time inside the judge worker) and pairs.
# Needs .carry/bin/deepprune.xz and .carry/data; carries CubeCL's caches when present.
set -u
bash scripts/gpu-unpack-binary.sh /tmp/bin/deepprune
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
bash scripts/gpu-cubecl-cache.sh import
sed -e 's/^  tau: .*/  tau: [0.75]/' -e 's/^  finish: .*/  finish: [largest_cluster]/' -e 's/^  deepconf: .*/  deepconf: []/' \
    -e 's/^  stop_policy: .*/  stop_policy: [none]/' configs/frontier-hybrid.yaml > /tmp/one-row.yaml
# Each setting is a space-free list of comma-separated judge.KEY=VALUE overrides.
for setting in ${SETTINGS:-model_batch=128 model_batch=256}; do
  sets=()
  for kv in ${setting//,/ }; do sets+=(--set "judge.$kv"); done
  name=${setting//[=,]/_}
  t=$(date +%s)
  timeout ${LIMIT:-280} /tmp/bin/deepprune sweep /tmp/one-row.yaml --output /tmp/one-row-$name --quiet \
    --set generator.problems=.carry/data/problems.jsonl --set generator.traces=.carry/data/traces-eval.jsonl.gz \
    --set judge.device=cuda "${sets[@]}" > /dev/null 2> /tmp/one-row-$name.err
  echo "$setting: $(( $(date +%s) - t )) s in all"
  tail -1 /tmp/one-row-$name/rows.md
  cp /tmp/one-row-$name/rows.md "$OUT/rows-$name.md" 2>/dev/null
done
bash scripts/gpu-cubecl-cache.sh export
