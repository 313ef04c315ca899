#!/usr/bin/env bash
# Runs on the GPU machine: `deepprune sweep SWEEP --resume` with the shipped judge on CUDA, where
# SWEEP is a file under sweeps/ (default sweeps/frontier-hybrid.yaml). The sweep resumes from the
# rows already stored in the directory its `output:` key names (docs/results/...), so a machine
# taken away mid-sweep loses nothing: bring $OUT/NAME.tgz back into docs/results/ and call again
# until no row is left. Each call follows the sweep for at most $WAIT seconds (default 540).
# Needs .carry/bin/deepprune.xz (the stripped cuda build, xz: the carry limit is 64 MiB with the
# tracked checkpoint) and .carry/data/{problems.jsonl,traces-eval.jsonl.gz} with the `conf`
# field. Carries CubeCL's caches in .carry/cubecl.txz when present (scripts/gpu/cubecl-cache.sh).
#   bash scripts/gpu/sweep-resume.sh sweeps/frontier-hybrid-w8.yaml
set -u
SWEEP=${1:-sweeps/frontier-hybrid.yaml}
RESULTS=$(sed -n 's/^output: *//p' "$SWEEP")
NAME=$(basename "$RESULTS")
B=/tmp/bin/deepprune
D=.carry/data
if ! [ -e "/tmp/$NAME.started" ]; then
  touch "/tmp/$NAME.started"
  bash scripts/gpu/unpack-binary.sh $B
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  bash scripts/gpu/cubecl-cache.sh import
  rm -rf "/tmp/$NAME" && mkdir -p "/tmp/$NAME" && { [ -d "$RESULTS" ] && cp -r "$RESULTS"/. "/tmp/$NAME"/; }
  setsid nohup $B sweep "$SWEEP" --resume --output "/tmp/$NAME" \
    --set generator.problems=$D/problems.jsonl --set generator.traces=$D/traces-eval.jsonl.gz \
    --set judge.device=cuda > "/tmp/$NAME.log" 2>&1 < /dev/null &
fi
WAIT=${WAIT:-540}
for _ in $(seq 1 $((WAIT / 10))); do
  pgrep -f "deepprune sweep" > /dev/null || break
  sleep 10
done
cat "/tmp/$NAME.log"
cat "/tmp/$NAME.log" >> "/tmp/$NAME/sweep.log"
tar czf "$OUT/$NAME.tgz" -C /tmp "$NAME" 2>/dev/null
pgrep -f "deepprune sweep" > /dev/null && echo "SWEEP STILL RUNNING"
bash scripts/gpu/cubecl-cache.sh export
ls -la "$OUT"
