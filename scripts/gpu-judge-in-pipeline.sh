#!/usr/bin/env bash
# Runs on the GPU machine: the judge's cost inside the pipeline, not in isolation. One sweep row
# (the shipped judge, τ = 0.75, `largest_cluster`, no DeepConf: about 120,000 pairs on the eval
# set) for each `judge.model_batch` in $BATCHES (default "128 256"), each in its own process;
# prints the row's judge seconds (time inside the judge worker) and pairs.
# Needs .carry/bin/deepprune.xz and .carry/data; carries CubeCL's caches when present.
set -u
mkdir -p /tmp/bin
python3 -c "import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],'wb'))" \
  .carry/bin/deepprune.xz /tmp/bin/deepprune && chmod +x /tmp/bin/deepprune
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
bash scripts/gpu-cubecl-cache.sh import
sed -e 's/^  tau: .*/  tau: [0.75]/' -e 's/^  finish: .*/  finish: [largest_cluster]/' -e 's/^  deepconf: .*/  deepconf: []/' \
    -e 's/^  stop_policy: .*/  stop_policy: [none]/' configs/frontier-hybrid.yaml > /tmp/one-row.yaml
for mb in ${BATCHES:-128 256}; do
  t=$(date +%s)
  timeout ${LIMIT:-280} /tmp/bin/deepprune sweep /tmp/one-row.yaml --output /tmp/one-row-$mb --quiet \
    --set generator.problems=.carry/data/problems.jsonl --set generator.traces=.carry/data/traces-eval.jsonl.gz \
    --set judge.device=cuda --set judge.model_batch=$mb > /dev/null 2> /tmp/one-row-$mb.err
  echo "judge.model_batch=$mb: $(( $(date +%s) - t )) s in all"
  tail -1 /tmp/one-row-$mb/rows.md
  cp /tmp/one-row-$mb/rows.md "$OUT/rows-model-batch-$mb.md" 2>/dev/null
done
bash scripts/gpu-cubecl-cache.sh export
