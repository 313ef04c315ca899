#!/usr/bin/env bash
# On the GPU machine: trains the judge of training/judge-minilm-both.yaml, then a learning curve
# over the 1.5B training problems, and evaluates each judge on both regimes' eval sets.
# Expects (carried, see scripts/dev/carry-prep.py): /tmp/c/judge (the starting checkpoint),
# /tmp/c/data/{problems.jsonl, traces-train*.jsonl.gz, traces-eval*.jsonl.gz} and
# .carry/bin/deepprune.xz. Writes the new checkpoint (in parts under 16 MiB), train.log,
# eval.jsonl, the frontier (scripts/gpu/frontier-1.5b.sh) and curve.jsonl to $R (default $OUT).
# It outlives one 10-minute call when started with setsid and R=/tmp/results; a later call
# copies /tmp/results to its $OUT.
set -u
B=/tmp/bin/deepprune D=/tmp/c/data R=${R:-$OUT}
mkdir -p "$R"
[ -f .carry/bin/deepprune.xz ] && bash scripts/gpu/unpack-binary.sh $B
bash scripts/gpu/cubecl-cache.sh import
# The caches come back however the job ends (a cold machine spends minutes compiling and tuning).
trap 'OUT=$R bash scripts/gpu/cubecl-cache.sh export; touch "$R/done"' EXIT
# A cold cache with autotune "balanced" spends minutes tuning every training shape (29 pairs/s
# at step 200 on an H200); "minimal" skips most of that.
sed -i 's/level = "balanced"/level = "minimal"/' cubecl.toml
export RUST_LOG=${RUST_LOG:-info}
# The training config with this machine's paths.
sed -e "s#^init: .*#init: /tmp/c/judge#" -e "s#\.\./\.\./shared/data/#$D/#" -e "s#\.\./data/train/#$D/#" \
  -e "s#^output: .*#output: /tmp/judge-both#" training/judge-minilm-both.yaml > /tmp/train-both.yaml
if [ ! -f /tmp/judge-both/train.json ]; then
  $B judge train /tmp/train-both.yaml --quiet > /tmp/train.log 2>&1
fi
tail -n 8 /tmp/train.log
mkdir -p "$R/judge"
cp /tmp/judge-both/config.json /tmp/judge-both/train.json /tmp/judge-both/tokenizer.json "$R/judge/"
split -b 15M -d /tmp/judge-both/model.safetensors "$R/judge/model.safetensors.part-"
cp /tmp/train.log "$R/train.log"
# Both regimes, every checkpoint the judge was trained at, with the lexical and embedding
# baselines on the same pairs (every pair).
$B judge eval --judge /tmp/judge-both --problems $D/problems.jsonl --device cuda --base /tmp/c/base \
  --traces $D/traces-eval-1.5b.jsonl.gz --traces $D/traces-eval.jsonl.gz --json \
  | tee "$R/eval.jsonl"
touch "$R/evaluated"
# The frontier with the new judge (FRONTIER=0 skips it).
[ "${FRONTIER:-1}" = 1 ] && JUDGE=/tmp/judge-both bash scripts/gpu/frontier-1.5b.sh
touch "$R/swept"
# Learning curve: the same recipe on the 1.5B traces alone, from 32, 96 and 224 of their problems
# (CURVE="" skips it).
for n in ${CURVE-32 96 224}; do
  extra=$((n > 32 ? n - 32 : 0))
  python3 - "$n" "$extra" <<'PY' > /tmp/train-lc.yaml
import sys, re
n, extra = sys.argv[1], int(sys.argv[2])
text = open('/tmp/train-both.yaml').read()
files = ("traces:\n  - path: /tmp/c/data/traces-train-1.5b.jsonl.gz\n"
         + (f"  - path: /tmp/c/data/traces-train-1.5b-extra.jsonl.gz\n    max_problems: {extra}\n" if extra else ""))
text = re.sub(r"traces:\n(  .*\n)+", files, text)
text = re.sub(r"^output: .*$", f"output: /tmp/judge-lc{n}", text, flags=re.M)
text = re.sub(r"^epochs: .*$", "epochs: 1", text, flags=re.M)
print(text)
PY
  $B judge train /tmp/train-lc.yaml --quiet > /tmp/train-lc$n.log 2>&1 || tail -n 5 /tmp/train-lc$n.log
  $B judge eval --judge /tmp/judge-lc$n --problems $D/problems.jsonl --device cuda --base none \
    --traces $D/traces-eval-1.5b.jsonl.gz --max-pairs 30000 --json | sed "s/^{/{\"curve_problems\":$n,/" | tee -a "$R/curve.jsonl"
done
