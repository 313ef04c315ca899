#!/usr/bin/env bash
# Runs on the GPU machine: the replay pipeline over the shared eval set with the trained judge on
# CUDA, for a few τ, writing each report.json to $OUT.
set -u
mkdir -p /tmp/bin && gunzip -c .carry/bin/deepprune-run.gz > /tmp/bin/deepprune-run && chmod +x /tmp/bin/deepprune-run
for tau in ${TAUS:-0.5 0.3 0.2}; do
  timeout 300 /tmp/bin/deepprune-run pipelines/replay-eval.yaml --quiet \
    --set generator.problems=.carry/data/problems.jsonl --set generator.traces=.carry/data/traces-eval.jsonl.gz \
    --set judge.kind=model --set judge.path=.carry/ckpt --set judge.device=cuda \
    --set clusterer.tau=$tau --set output.dir=/tmp/run-$tau
  cp /tmp/run-$tau/report.json "$OUT/report-model-tau$tau.json" 2>/dev/null
done
