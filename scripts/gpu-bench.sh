#!/usr/bin/env bash
# Runs on the GPU machine: the judge throughput benchmark, Burn then PyTorch, back to back on the
# same GPU, pairs of 512 tokens, bf16, random MiniLM-shaped weights on both sides (throughput
# does not depend on the values, and the carry limit leaves no room for the base weights).
# Burn: unfused attention (the default; the fused kernel measured slower, docs/judge.md).
# PyTorch: transformers' BertForSequenceClassification with SDPA, eager. Runs in the background
# (it can outlive one call); the call follows it for at most $WAIT seconds.
# Needs .carry/bin/deepprune.xz (stripped cuda build) and .carry/base/config.json.
# Results: $OUT/bench-judge-h100.jsonl once done.
set -u
mkdir -p /tmp/bin /tmp/bench
if [ ! -e /tmp/bench/started ]; then
  touch /tmp/bench/started
  python3 -c "import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],'wb'))" \
    .carry/bin/deepprune.xz /tmp/bin/dp-bench && chmod +x /tmp/bin/dp-bench
  cat > /tmp/bench/all.sh <<'INNER'
export RUST_LOG=warn
/tmp/bin/dp-bench bench judge --device cuda --max-len 512 --batch 64,128 --pairs 4096 --attention unfused --json > /tmp/bench/burn.jsonl 2> /tmp/bench/burn.err
python3 scripts/bench_torch_judge.py --model .carry/base --random-init --max-len 512 --batch 64,128 --pairs 4096 > /tmp/bench/torch.jsonl 2> /tmp/bench/torch.err
touch /tmp/bench/done
INNER
  setsid nohup bash /tmp/bench/all.sh > /dev/null 2>&1 < /dev/null &
fi
WAIT=${WAIT:-540}
for _ in $(seq 1 $((WAIT / 10))); do
  [ -e /tmp/bench/done ] && break
  sleep 10
done
nvidia-smi --query-gpu=name,utilization.gpu --format=csv,noheader
cat /tmp/bench/burn.jsonl /tmp/bench/torch.jsonl 2>/dev/null
tail -3 /tmp/bench/burn.err /tmp/bench/torch.err 2>/dev/null
if [ -e /tmp/bench/done ]; then
  cat /tmp/bench/burn.jsonl /tmp/bench/torch.jsonl > "$OUT/bench-judge-h100.jsonl"
else
  echo "BENCH STILL RUNNING"
fi
