#!/usr/bin/env bash
# Runs on the GPU machine: `deepprune sweep configs/frontier-hybrid.yaml` (the shipped judge on
# CUDA, alone and with DeepConf-low) in the background, so it outlives one call. Each call
# (the first one starts the sweep) follows it for at most $WAIT seconds and returns what is
# done so far in $OUT/frontier-hybrid.tgz. Needs .carry/bin/deepprune.xz (the stripped cuda build, xz: the
# carry limit is 64 MiB with the tracked checkpoint) and
# .carry/data/{problems.jsonl,traces-eval.jsonl.gz} with the `conf` field.
set -u
B=/tmp/bin/deepprune
D=.carry/data
if ! [ -e /tmp/hybrid.started ]; then
  touch /tmp/hybrid.started
  mkdir -p /tmp/bin
  python3 -c "import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],'wb'))" \
    .carry/bin/deepprune.xz $B.new && chmod +x $B.new && mv -f $B.new $B
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  setsid nohup $B sweep configs/frontier-hybrid.yaml --output /tmp/frontier-hybrid \
    --set generator.problems=$D/problems.jsonl --set generator.traces=$D/traces-eval.jsonl.gz \
    --set judge.device=cuda > /tmp/hybrid.log 2>&1 < /dev/null &
fi
WAIT=${WAIT:-540}
for _ in $(seq 1 $((WAIT / 10))); do
  pgrep -f "deepprune sweep" > /dev/null || break
  sleep 10
done
cat /tmp/hybrid.log
cp /tmp/hybrid.log /tmp/frontier-hybrid/sweep.log 2>/dev/null
tar czf "$OUT/frontier-hybrid.tgz" -C /tmp frontier-hybrid 2>/dev/null
pgrep -f "deepprune sweep" > /dev/null && echo "SWEEP STILL RUNNING"
ls -la "$OUT"
