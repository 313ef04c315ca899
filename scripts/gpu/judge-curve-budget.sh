#!/usr/bin/env bash
# On the GPU machine, in one call: a learning curve of the judge on the 1.5B training traces alone
# (no 0.5B traces mixed in), from the shipped checkpoint, over N of their problems (CURVE, default
# "224 96 32": the shared 32, then the first N-32 of data/train/'s 192), with the recipe of
# training/judge-minilm-both.yaml. Each judge is evaluated on traces-eval-1.5b at 64, 128 and 256
# tokens; the largest also on traces-eval (the 0.5B regime), to show what mixing regimes buys.
# Carried as for train-judge-budget.sh. Environment: DEADLINE (default 540), RUN_SECONDS (each
# run's max_seconds, default 150), EPOCHS (default 2), EVAL_PAIRS (default 20000).
# Writes to $OUT: curve.jsonl (one `judge eval` line per judge and cut, with "curve_problems"),
# curve-N.log (each training log, with its validations), cubecl.txz.
set -u
DEADLINE=${DEADLINE:-540}
source scripts/gpu/one-call.sh
export RUST_LOG=${RUST_LOG:-info}
curve=(${CURVE:-224 96 32})
for n in "${curve[@]}"; do
  [ $(left) -gt 60 ] || { at "skipped $n problems (no time)"; continue; }
  extra=$((n > 32 ? n - 32 : 0))
  python3 - "$n" "$extra" "$ROOT" "${EPOCHS:-2}" "${RUN_SECONDS:-150}" <<'PY' > /tmp/lc$n.yaml
import re, sys
n, extra, root, epochs, seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
text = open(f"{root}/training/judge-minilm-both.yaml").read()
files = ("traces:\n  - path: /tmp/c/data/traces-train-1.5b.jsonl\n"
         + (f"  - path: /tmp/c/data/traces-train-1.5b-extra.jsonl\n    max_problems: {extra}\n" if extra else ""))
text = re.sub(r"^traces:.*\n(  .*\n)+", files, text, flags=re.M)
for key, value in [("init", f"{root}/models/judge-minilm"), ("output", f"/tmp/lc{n}"), ("epochs", epochs),
                   ("max_seconds", seconds), ("validation_max_pairs", "4000"), ("fusion", "false")]:
    text = re.sub(rf"^{key}: .*$", f"{key}: {value}", text, flags=re.M)
print(text)
PY
  upto 30 $B judge train /tmp/lc$n.yaml --quiet > /tmp/lc$n.log 2>&1
  echo "rc $?" >> /tmp/lc$n.log
  plain /tmp/lc$n.log > "$OUT/curve-$n.log"
  at "$n problems: $(grep -E '^(epoch|rc|training on)' "$OUT/curve-$n.log" | tr '\n' ';')"
  [ -f /tmp/lc$n/model.safetensors ] || continue
  sets=(--traces $D/traces-eval-1.5b.jsonl); [ $n = "${curve[0]}" ] && sets+=(--traces $D/traces-eval.jsonl)
  upto 10 $B judge eval --judge /tmp/lc$n --problems $D/problems.jsonl --device cuda --base none "${sets[@]}" \
    --max-pairs ${EVAL_PAIRS:-20000} --json 2>/dev/null | sed "s/^{/{\"curve_problems\":$n,/" >> "$OUT/curve.jsonl"
  at "$n problems evaluated"
done
cut -c1-400 "$OUT/curve.jsonl"
