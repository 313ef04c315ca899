#!/usr/bin/env bash
# On the GPU machine, in one call: the model judge's rows of sweeps/frontier-1.5b.yaml over a wider
# grid, for a judge whose similarities need not sit where the shipped one's do: prefixes of 128
# tokens (TAU_128, no staged judging) and of 64 tokens with and without staged judging (TAU_64).
# Carried: .carry/judge/ (the checkpoint: config.json, model.safetensors, tokenizer.json),
# .carry/bin/deepprune.xz, .carry/data/{problems.jsonl, traces-eval-1.5b.jsonl.xz} and
# .carry/cubecl.txz. Writes $OUT/frontier-128.tar, $OUT/frontier-64.tar, cubecl.txz.
# Environment: DEADLINE (default 480), TAU_128 (default "[0.3, 0.4, 0.5, 0.6, 0.7]"),
# TAU_64 (default "[0.2, 0.3, 0.4]").
set -u
DEADLINE=${DEADLINE:-480}
source scripts/gpu/one-call.sh
grid() { # grid NAME PREFIX TAUS VARIANTS
  python3 - "$ROOT" "$@" <<'PY' > /tmp/sweep-$1.yaml
import re, sys
root, name, prefix, taus, variants = sys.argv[1:]
text = open(f"{root}/sweeps/frontier-1.5b.yaml").read()
text = re.sub(r"^(\s+)variants:\n(\1  - .*\n)+", rf"\1variants: {variants}\n", text, flags=re.M)
for key, value in [("judge", "[model]"), ("tau", taus), ("prefix", f"[{prefix}]"), ("deepconf", "[]"),
                   ("model", "/tmp/c/judge"), ("pipeline", f"{root}/pipelines/replay-eval.yaml")]:
    text = re.sub(rf"^(\s*){key}: .*$", rf"\g<1>{key}: {value}", text, count=1, flags=re.M)
print(text)
PY
}
mkdir -p /tmp/c && cp -r .carry/judge /tmp/c/judge
grid 128 128 "${TAU_128:-[0.3, 0.4, 0.5, 0.6, 0.7]}" "[[]]"
grid 64 64 "${TAU_64:-[0.2, 0.3, 0.4]}" '[[], ["truncator.later=[128,256]", clusterer.band=0.1]]'
for name in 128 64; do
  upto 15 $B sweep /tmp/sweep-$name.yaml --quiet --output /tmp/frontier-$name \
    --set generator.traces=$D/traces-eval-1.5b.jsonl --set generator.problems=$D/problems.jsonl \
    --set judge.device=cuda 2>&1 | grep -E '^Error|rows;' | head -n 3
  at "sweep $name: $(wc -l < /tmp/frontier-$name/rows.jsonl 2>/dev/null) rows"
  tar cf "$OUT/frontier-$name.tar" -C /tmp frontier-$name 2>/dev/null
done
