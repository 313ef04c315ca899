#!/usr/bin/env bash
# Runs on the GPU machine: the judge throughput benchmark, Burn then PyTorch, back to back on the
# same GPU, pairs of 512 tokens, bf16. Burn runs with both attention implementations (fused
# kernel, unfused matmul-softmax-matmul), then with --breakdown; PyTorch eager (SDPA) and
# torch.compile. All of it runs in the background (it can outlive one call); the call follows it
# for at most $WAIT seconds. Results: /tmp/bench/*.jsonl and *.txt, copied to $OUT when done.
set -u
mkdir -p /tmp/bin /tmp/bench
gunzip -c .carry/bin/deepprune.gz > /tmp/bin/dp.new && chmod +x /tmp/bin/dp.new && mv -f /tmp/bin/dp.new /tmp/bin/deepprune
if [ ! -e /tmp/bench/started ]; then
  touch /tmp/bench/started
  cat > /tmp/bench/all.sh <<'INNER'
B=/tmp/bin/deepprune
export RUST_LOG=warn
$B bench judge --device cuda --max-len 512 --batch 64,128 --pairs 4096 --attention fused,unfused --json > /tmp/bench/burn.jsonl 2> /tmp/bench/burn.err
$B bench judge --device cuda --max-len 512 --batch 128 --pairs 2048 --attention unfused --breakdown > /tmp/bench/breakdown.txt 2>> /tmp/bench/burn.err
python3 scripts/bench_torch_judge.py --model .carry/base --max-len 512 --batch 64,128 --pairs 4096 > /tmp/bench/torch.jsonl 2> /tmp/bench/torch.err
python3 scripts/bench_torch_judge.py --model .carry/base --max-len 512 --batch 64,128 --pairs 4096 --compile >> /tmp/bench/torch.jsonl 2>> /tmp/bench/torch.err
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
cat /tmp/bench/burn.jsonl /tmp/bench/breakdown.txt /tmp/bench/torch.jsonl 2>/dev/null
tail -3 /tmp/bench/torch.err 2>/dev/null
if [ -e /tmp/bench/done ]; then
  cat /tmp/bench/burn.jsonl /tmp/bench/torch.jsonl > "$OUT/bench-judge-h100.jsonl"
  cp /tmp/bench/breakdown.txt "$OUT/"
else
  echo "BENCH STILL RUNNING"
fi
