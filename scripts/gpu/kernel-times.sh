#!/usr/bin/env bash
# Runs on the GPU machine: where a judge forward pass spends its GPU time, kernel by kernel,
# under Nsight Compute (`ncu`, which times each kernel alone; host gaps are not counted).
# One `bench judge` run of $PAIRS pairs (default 256) at $LEN tokens (default 512) and batch
# $BATCH (default 128) with the CUDA defaults, or $ATTENTION / $MATMUL / $NORM where set; every
# kernel launch is timed, then grouped by kind. Results in $OUT: kernel-times-$LEN-b$BATCH.csv (ncu's raw
# rows) and kernel-times-$LEN-b$BATCH.txt (the grouped table, milliseconds per forward pass).
# Needs .carry/bin/deepprune.xz; carries CubeCL's caches in .carry/cubecl.txz when present.
set -u
bash scripts/gpu/unpack-binary.sh /tmp/bin/dp-times
bash scripts/gpu/cubecl-cache.sh import > /dev/null
export RUST_LOG=warn
NCU=${NCU:-/usr/local/cuda/bin/ncu}
LEN=${LEN:-512}; BATCH=${BATCH:-128}; PAIRS=${PAIRS:-256}
timeout 400 "$NCU" --metrics gpu__time_duration.sum --csv \
  /tmp/bin/dp-times bench judge --device cuda --max-len "$LEN" --batch "$BATCH" --pairs "$PAIRS" \
  ${ATTENTION:+--attention "$ATTENTION"} ${MATMUL:+--matmul "$MATMUL"} ${NORM:+--norm "$NORM"} --json \
  > "$OUT/kernel-times-$LEN-b$BATCH.csv" 2> /tmp/kernel-times.err
tail -2 /tmp/kernel-times.err
python3 - "$OUT/kernel-times-$LEN-b$BATCH.csv" "$PAIRS" "$BATCH" <<'PY' | tee "$OUT/kernel-times-$LEN-b$BATCH.txt"
import csv, collections, sys
path, pairs, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rows = [r for r in csv.reader(l for l in open(path) if l.startswith('"'))]
head, rows = rows[0], rows[1:]
name, value, unit = head.index("Kernel Name"), head.index("Metric Value"), head.index("Metric Unit")
scale = {"nsecond": 1e-6, "usecond": 1e-3, "msecond": 1.0}
def kind(n):
    n = n.lower()
    for key, label in [("flash2", "attention (flash2)"), ("flash_attention", "attention (flash, CubeCL)"),
                       ("gemm", "dense products (cuBLASLt)"), ("sm90_xmma", "dense products (cuBLASLt)"),
                       ("nvjet", "dense products (cuBLASLt)"), ("cutlass", "dense products (cuBLASLt)"),
                       ("matmul", "dense products (Burn)"), ("layer_norm", "residual + LayerNorm (fused)"),
                       ("norm", "residual + LayerNorm")]:
        if key in n:
            return label
    return "other (GELU, embeddings, [CLS] layer, casts, ...)"
launches = [(kind(r[name]), r[name], float(r[value].replace(",", "")) * scale.get(r[unit], 1e-6)) for r in rows]
# The bench runs 1 + 3 untimed passes, pairs / batch timed ones, then its peak matmul and a check
# against Burn's reference kernels (the whole encoder once more, then Burn's composition), which
# must not be counted. Every pass launches the attention kernel once per layer it covers, a few
# launches apart; passes are further apart. So the launches from the first attention launch of
# the second pass up to that of the last timed pass span whole passes, shifted by one offset.
passes = 4 + pairs // batch
anchors = [i for i, (k, _, _) in enumerate(launches) if k.startswith("attention")]
gaps = [b - a for a, b in zip(anchors, anchors[1:])]
per_pass = next((i + 1 for i, g in enumerate(gaps) if g > 2 * min(gaps)), 0) if gaps else 0
if per_pass == 0 or len(anchors) < per_pass * passes:
    sys.exit(f"{len(anchors)} attention launches: this breakdown needs judge.attention flash or flash2")
window = launches[anchors[per_pass]:anchors[per_pass * (passes - 1)]]
counted = passes - 2
total = collections.Counter(); count = collections.Counter(); by_name = collections.Counter()
for k, n, ms in window:
    total[k] += ms; count[k] += 1; by_name[n[:90]] += ms
print(f"{len(window)} kernel launches over {counted} forward passes of {batch} pairs; ms per pass (GPU time, kernels alone):")
for k, ms in total.most_common():
    print(f"  {k:50s} {ms / counted:7.3f} ms  ({count[k] / counted:.0f} launches)")
print(f"  {'sum':50s} {sum(total.values()) / counted:7.3f} ms")
print("largest kernels, ms per pass:")
for n, ms in by_name.most_common(12):
    print(f"  {ms / counted:7.3f}  {n}")
PY
