#!/usr/bin/env bash
# Runs on the GPU machine: GPU memory across the rows of one sweep process. Every sweep row starts
# a fresh judge worker thread, and CubeCL keeps one memory pool per thread; before judge threads
# gave their pool back on exit (PairJudge::release_hook), the H100 ran out of memory at the 13th
# row of sweeps/frontier-hybrid.yaml. This runs the model rows of that sweep on the first
# $PROBLEMS eval problems and samples `memory.used` once a second; the used memory must stay flat
# from row to row, not grow by a pool per row.
# Needs /tmp/bin/deepprune (unpacked by sweep-resume.sh, or from .carry/bin/deepprune.xz)
# and .carry/data. Prints the peak memory.used seen while each row ran.
set -u
B=/tmp/bin/deepprune
[ -x $B ] || bash scripts/gpu/unpack-binary.sh $B
D=.carry/data
PROBLEMS=${PROBLEMS:-24}
sed -e 's/^  deepconf: .*/  deepconf: []/' -e "s#^pipeline: \.\./#pipeline: $PWD/#" sweeps/frontier-hybrid.yaml > /tmp/memcheck.yaml
nvidia-smi --query-gpu=timestamp,memory.used --format=csv,noheader,nounits -l 1 > /tmp/mem.log &
SMI=$!
timeout ${LIMIT:-300} $B sweep /tmp/memcheck.yaml --output /tmp/memcheck \
  --set generator.problems=$D/problems.jsonl --set generator.traces=$D/traces-eval.jsonl.gz \
  --set generator.max_problems=$PROBLEMS --set judge.device=cuda 2>&1 \
  | while IFS= read -r line; do echo "$(date +%s) $line"; done > /tmp/memcheck.log
kill $SMI
python3 - <<'PY'
import datetime
rows = []
for line in open("/tmp/memcheck.log"):
    t, _, rest = line.partition(" ")
    if rest.startswith("["):
        rows.append((int(t), rest.split(":")[0]))
mem = []
for line in open("/tmp/mem.log"):
    try:
        ts, used = [x.strip() for x in line.split(",")]
        mem.append((datetime.datetime.strptime(ts, "%Y/%m/%d %H:%M:%S.%f").timestamp(), int(used)))
    except ValueError:
        pass
start = mem[0][0] if mem else 0
prev = start
for t, name in rows:
    peak = max([m for (s, m) in mem if prev - 1 <= s <= t + 1] or [0])
    print(f"{name:10s} ended at +{t - start:5.0f} s, peak memory.used while it ran: {peak} MiB")
    prev = t
print(f"final memory.used: {mem[-1][1] if mem else '?'} MiB")
PY
tail -3 /tmp/memcheck.log
