#!/usr/bin/env bash
# Runs on the GPU machine: the judge throughput benchmark, Burn then PyTorch, back to back on the
# same GPU, bf16, random MiniLM-shaped weights on both sides (throughput does not depend on the
# values, and the carry limit leaves no room for the base weights):
#   - pairs of 512 tokens (the setting) at batch 64, 128 and 256;
#   - pairs of 256 tokens (what 128-token prefixes become in the pipeline) at batch 128 and 256;
#   - one more Burn run at 512 tokens, batch 128, under CubeCL's kernel profiler (GPU time per
#     kernel over the timed batches; profiling serialises kernels, so its pairs/s is not used).
# Burn: each attention implementation in $ATTENTION (default "flash2,flash": the serving default
# and our CubeCL kernel, in one process, so their ratio is measured in one run). Batch sizes: $B512 for 512-token pairs (default 64,128,256), $B256 for 256-token pairs
# (default 128,256); PROFILE=0 skips the profiled run. $MATMUL (e.g. "cublaslt,burn") picks the
# dense-product kernels the same way (default: the fastest measured, cuBLASLt), and $NORM (e.g.
# "fused,burn") the residual-sum and LayerNorm kernels.
# PyTorch: transformers' BertForSequenceClassification with SDPA, eager. Its figures have moved
# by up to ±20% between calls, so with TORCH_RUNS=2 (the default) it also runs before Burn, and
# ratios are against its better run; TORCH_RUNS=1 runs it after Burn only.
# Then the matmul rate of both on the shapes in $GEMM (default: one MiniLM layer's products over
# 128 pairs of 512 tokens, and 8192³), `deepprune bench matmul $GEMM_FLAGS` against torch's `@`;
# GEMM=none skips it. GEMM_FLAGS (default "--transposed --split 1,128") also times Burn with the
# weight stored transposed and with the rows split into 128 batches as `Linear` runs them.
# JUDGE=0 skips the judge benchmarks (the matmuls only).
# Needs .carry/bin/deepprune.xz (stripped cuda build) and .carry/base/config.json; carries
# CubeCL's caches in .carry/cubecl.txz when present (scripts/gpu/cubecl-cache.sh).
# Results in $OUT: bench-judge.jsonl (one JSON line per engine, length and batch) and
# profile.txt (the profiler's per-kernel table).
set -u
bash scripts/gpu/unpack-binary.sh /tmp/bin/dp-bench
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
bash scripts/gpu/cubecl-cache.sh import
export RUST_LOG=warn
R="$OUT/bench-judge.jsonl"
if [ "${CACHE_CHECK:-0}" = 1 ]; then
  # Whether carried caches spare a fresh machine the kernel compilation: one model-judge sweep
  # row on the embedded sample; its `judge s` includes any compilation.
  sed -e 's/^  tau: .*/  tau: [0.5]/' -e 's/^  finish: .*/  finish: [founders]/' -e 's/^  deepconf: .*/  deepconf: []/' \
      -e 's/^  stop_policy: .*/  stop_policy: [none]/' -e "s#^pipeline: \.\./#pipeline: $PWD/#" sweeps/frontier-hybrid.yaml > /tmp/cache-check.yaml
  t=$(date +%s)
  timeout 240 /tmp/bin/dp-bench sweep /tmp/cache-check.yaml --output /tmp/cache-check --quiet \
    --set generator.problems=data/sample/problems.jsonl --set generator.traces=data/sample/traces.jsonl.gz \
    --set judge.device=cuda > /dev/null 2> /tmp/cache-check.err
  echo "cache check: sample sweep row with the model judge took $(( $(date +%s) - t )) s"
  tail -1 /tmp/cache-check/rows.md
  cp /tmp/cache-check/rows.md "$OUT/cache-check-rows.md" 2>/dev/null
fi
t0=$(date +%s)
if [ "${JUDGE:-1}" = 1 ]; then
A=${ATTENTION:-flash2,flash}
B512=${B512:-64,128,256}
B256=${B256:-128,256}
torch_judge() {
  timeout 120 python3 scripts/bench/torch-judge.py --model .carry/base --random-init --max-len 512 --batch "$B512" --pairs 4096 >> "$R" 2> /tmp/torch.err
  timeout 60 python3 scripts/bench/torch-judge.py --model .carry/base --random-init --max-len 256 --batch "$B256" --pairs 4096 >> "$R" 2>> /tmp/torch.err
  echo "torch: $(( $(date +%s) - t0 )) s"; tail -2 /tmp/torch.err
}
if [ "${TORCH_RUNS:-2}" -ge 2 ]; then torch_judge; fi
timeout 360 /tmp/bin/dp-bench bench judge --device cuda --max-len 512 --batch "$B512" --attention "$A" ${MATMUL:+--matmul "$MATMUL"} ${NORM:+--norm "$NORM"} --pairs 4096 --json >> "$R" 2> /tmp/burn.err
echo "burn 512: $(( $(date +%s) - t0 )) s"; tail -2 /tmp/burn.err
timeout 150 /tmp/bin/dp-bench bench judge --device cuda --max-len 256 --batch "$B256" --attention "$A" ${MATMUL:+--matmul "$MATMUL"} ${NORM:+--norm "$NORM"} --pairs 4096 --json >> "$R" 2>> /tmp/burn.err
echo "burn 256: $(( $(date +%s) - t0 )) s"
if [ "${PROFILE:-1}" = 1 ]; then
cp cubecl.toml /tmp/cubecl.toml.orig
printf '\n[profiling]\nlogger = { level = "basic", file = "/tmp/profile.txt", append = false }\n' >> cubecl.toml
timeout 60 /tmp/bin/dp-bench bench judge --device cuda --max-len 512 --batch 128 --pairs 1024 --json > /tmp/profiled.jsonl 2>> /tmp/burn.err
cp /tmp/cubecl.toml.orig cubecl.toml
cp /tmp/profile.txt "$OUT/profile.txt" 2>/dev/null
echo "burn profile: $(( $(date +%s) - t0 )) s"
fi
torch_judge
fi
GEMM=${GEMM:-65536x384x1152,65536x384x384,65536x384x1536,65536x1536x384,8192x8192x8192}
if [ "$GEMM" != none ]; then
  # shellcheck disable=SC2086
  timeout 300 /tmp/bin/dp-bench bench matmul --device cuda --shapes "$GEMM" ${GEMM_FLAGS:---transposed --split 1,128} --json >> "$R" 2>> /tmp/burn.err
  tail -2 /tmp/burn.err
  timeout 60 python3 scripts/bench/torch-judge.py --gemm "$GEMM" >> "$R" 2>> /tmp/torch.err
  echo "gemm: $(( $(date +%s) - t0 )) s"
fi
cat "$R"
python3 scripts/bench/ratios.py "$R"
bash scripts/gpu/cubecl-cache.sh export
