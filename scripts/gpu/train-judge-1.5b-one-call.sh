#!/usr/bin/env bash
# On the GPU machine, in one call (when device time is short): fine-tunes the shipped judge on
# the 1.5B training traces (training/judge-minilm-both.yaml without the 0.5B file, which does not
# fit the carry beside the checkpoint and the binary), evaluates it on both regimes' eval sets
# (lexical baseline; the embedding baseline needs the base model, not carried), then runs the
# model rows of sweeps/frontier-1.5b.yaml until $DEADLINE seconds have passed since the start.
# Carried: models/judge-minilm (the starting checkpoint, in the tree), .carry/bin/deepprune.xz,
# .carry/dB/{traces-eval-1.5b,traces-train-1.5b}.jsonl.gz, .carry/dA/traces-eval.jsonl.gz.
# With the checkpoint in the tree this is about 67.8 MB, over the 64 MiB a call carries: move
# docs/, src/, tests/ and fuzz/ out of the checkout for the call (the binary needs none of them),
# and .carry/dB also holds problems.jsonl.
# Writes to $OUT: judge.tar (config, train.json, tokenizer, train.log), model.safetensors.part-*,
# eval.jsonl, frontier.tar and cubecl.txz (carry it back as .carry/cubecl.txz).
set -u
start=$(date +%s) DEADLINE=${DEADLINE:-540}
left() { echo $((DEADLINE - ($(date +%s) - start))); }
B=/tmp/bin/deepprune D=/tmp/c/data
mkdir -p $D && cp .carry/dA/* .carry/dB/* data/train/traces-train-1.5b-extra.jsonl.gz $D/
bash scripts/gpu/unpack-binary.sh $B
# The kernel and autotune caches come back to $OUT/cubecl.txz however the call ends: on a cold
# machine compiling and tuning the training shapes took longer than this whole call.
bash scripts/gpu/cubecl-cache.sh import
trap 'bash scripts/gpu/cubecl-cache.sh export' EXIT
sed -i 's/level = "balanced"/level = "minimal"/' cubecl.toml
export RUST_LOG=${RUST_LOG:-info}
python3 - <<'PY' > /tmp/train-1.5b.yaml
import re
t = open('training/judge-minilm-both.yaml').read()
t = re.sub(r"  - path: \.\./\.\./shared/data/traces-train\.jsonl\.gz.*?\n    weight: 0\.2.*?\n", "", t)
t = t.replace("../../shared/data/", "/tmp/c/data/").replace("../data/train/", "/tmp/c/data/")
t = re.sub(r"^init: .*$", "init: ../models/judge-minilm", t, flags=re.M)
t = re.sub(r"^output: .*$", "output: /tmp/judge-new", t, flags=re.M)
open('training/judge-minilm-1.5b.device.yaml', 'w').write(t)
print(t)
PY
grep -n "path:\|init:\|output:" training/judge-minilm-1.5b.device.yaml
timeout $(($(left) - 200)) $B judge train training/judge-minilm-1.5b.device.yaml --quiet > /tmp/train.log 2>&1
echo "train rc $? at $((DEADLINE - $(left))) s"; grep -E "^epoch" /tmp/train.log; tail -n 3 /tmp/train.log
[ -f /tmp/judge-new/model.safetensors ] || exit 1
mkdir -p /tmp/pack && cp /tmp/judge-new/config.json /tmp/judge-new/train.json /tmp/judge-new/tokenizer.json /tmp/train.log /tmp/pack/
tar cf "$OUT/judge.tar" -C /tmp/pack .
split -b 15M -d /tmp/judge-new/model.safetensors "$OUT/model.safetensors.part-"
timeout $(($(left) - 100)) $B judge eval --judge /tmp/judge-new --problems $D/problems.jsonl --device cuda --base none \
  --traces $D/traces-eval-1.5b.jsonl.gz --traces $D/traces-eval.jsonl.gz --json | tee "$OUT/eval.jsonl"
echo "eval done at $((DEADLINE - $(left))) s"
sed -e "s#^  model: .*#  model: /tmp/judge-new#" sweeps/frontier-1.5b.yaml > sweeps/frontier-1.5b.device.yaml
timeout $(($(left) - 15)) $B sweep sweeps/frontier-1.5b.device.yaml --judges model --quiet --output /tmp/frontier \
  --set generator.traces=$D/traces-eval-1.5b.jsonl.gz --set generator.problems=$D/problems.jsonl --set judge.device=cuda 2>&1 | tail -n 3
echo "sweep stopped at $((DEADLINE - $(left))) s"; wc -l /tmp/frontier/rows.jsonl
tar cf "$OUT/frontier.tar" -C /tmp frontier
