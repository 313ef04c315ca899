#!/usr/bin/env bash
# On the GPU machine: the 1.5B-regime frontier of sweeps/frontier-1.5b.yaml (every judge, τ,
# finishing policy, with and without staged judging, DeepConf, the cons@k curve) with the judge
# in $JUDGE (default /tmp/judge-both), then, with TAU_FINE=1, the model judge alone over a finer τ grid.
# Expects the carried data in /tmp/c/data, the base model in /tmp/c/base and the binary in
# /tmp/bin/deepprune (scripts/gpu/train-judge-both.sh unpacks it). Writes $R/frontier/ and
# $R/frontier-tau/ (R defaults to $OUT).
set -u
B=/tmp/bin/deepprune D=/tmp/c/data R=${R:-$OUT} J=${JUDGE:-/tmp/judge-both}
[ -x $B ] || bash scripts/gpu/unpack-binary.sh $B
sed -i 's/level = "balanced"/level = "minimal"/' cubecl.toml
sed -e "s#^  model: .*#  model: $J#" -e "s#^  embedding: .*#  embedding: /tmp/c/base#" \
  sweeps/frontier-1.5b.yaml > sweeps/frontier-1.5b.device.yaml
set_data=(--set generator.traces=$D/traces-eval-1.5b.jsonl.gz --set generator.problems=$D/problems.jsonl --set judge.device=cuda)
$B sweep sweeps/frontier-1.5b.device.yaml "${set_data[@]}" --output "$R/frontier" --quiet 2>&1 | tail -n 3
# The model's similarities need not sit where the lexical judge's do: a finer τ grid for it
# (TAU_FINE=1).
[ "${TAU_FINE:-0}" = 1 ] || { rm -f sweeps/frontier-1.5b.device.yaml; exit 0; }
sed -i -e "s#^  tau: .*#  tau: [0.3, 0.6, 0.8, 0.95, 0.98]#" -e "s#^  deepconf: .*#  deepconf: []#" sweeps/frontier-1.5b.device.yaml
$B sweep sweeps/frontier-1.5b.device.yaml "${set_data[@]}" --judges model --output "$R/frontier-tau" --quiet 2>&1 | tail -n 3
rm -f sweeps/frontier-1.5b.device.yaml
