#!/usr/bin/env bash
# Runs on the GPU machine: the frontier sweep's `model` rows (64-token prefixes) with the trained
# judge on CUDA; the table and plots go to $OUT/frontier-model.
set -u
mkdir -p /tmp/bin && gunzip -c .carry/bin/deepprune.gz > /tmp/bin/deepprune && chmod +x /tmp/bin/deepprune
# The shipped judge was trained on 64-token prefixes: sweep τ and the finishing policy at 64.
sed -e 's/^  prefix: .*/  prefix: [64]/' -e "s#^pipeline: \.\./#pipeline: $PWD/#" configs/frontier.yaml > /tmp/frontier-model.yaml
/tmp/bin/deepprune sweep /tmp/frontier-model.yaml --judges model --output "$OUT/frontier-model" \
  --set generator.problems=.carry/data/problems.jsonl --set generator.traces=.carry/data/traces-eval.jsonl.gz \
  --set judge.path=.carry/ckpt --set judge.device=cuda
