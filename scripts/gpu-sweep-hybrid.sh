#!/usr/bin/env bash
# Runs on the GPU machine: `deepprune sweep configs/frontier-hybrid.yaml --resume` (the shipped
# judge on CUDA, alone and with DeepConf-low). The sweep resumes from the rows already stored in
# docs/results/frontier-hybrid/rows.jsonl, so a machine taken away mid-sweep loses nothing: bring
# $OUT/frontier-hybrid.tgz back into docs/results/ and call again until no row is left.
# Each call follows the sweep for at most $WAIT seconds (default 540).
# Needs .carry/bin/deepprune.xz (the stripped cuda build, xz: the carry limit is 64 MiB with the
# tracked checkpoint) and .carry/data/{problems.jsonl,traces-eval.jsonl.gz} with the `conf`
# field. Carries CubeCL's caches in .carry/cubecl.txz when present (scripts/gpu-cubecl-cache.sh).
set -u
B=/tmp/bin/deepprune
D=.carry/data
if ! [ -e /tmp/hybrid.started ]; then
  touch /tmp/hybrid.started
  bash scripts/gpu-unpack-binary.sh $B
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  bash scripts/gpu-cubecl-cache.sh import
  rm -rf /tmp/frontier-hybrid && cp -r docs/results/frontier-hybrid /tmp/frontier-hybrid
  setsid nohup $B sweep configs/frontier-hybrid.yaml --resume --output /tmp/frontier-hybrid \
    --set generator.problems=$D/problems.jsonl --set generator.traces=$D/traces-eval.jsonl.gz \
    --set judge.device=cuda > /tmp/hybrid.log 2>&1 < /dev/null &
fi
WAIT=${WAIT:-540}
for _ in $(seq 1 $((WAIT / 10))); do
  pgrep -f "deepprune sweep" > /dev/null || break
  sleep 10
done
cat /tmp/hybrid.log
cat /tmp/hybrid.log >> /tmp/frontier-hybrid/sweep.log
tar czf "$OUT/frontier-hybrid.tgz" -C /tmp frontier-hybrid 2>/dev/null
pgrep -f "deepprune sweep" > /dev/null && echo "SWEEP STILL RUNNING"
bash scripts/gpu-cubecl-cache.sh export
ls -la "$OUT"
