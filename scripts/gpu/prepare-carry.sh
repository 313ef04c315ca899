#!/usr/bin/env bash
# On the GPU machine: unpacks what a call carried in .carry/ (scripts/dev/carry-prep.py --xz, then
# the binary): the data into /tmp/c/data, the binary into /tmp/bin/deepprune, CubeCL's caches into
# target/, and sets autotune to "minimal" (a cold "balanced" tune of the training shapes takes
# minutes).
set -u
D=/tmp/c/data
mkdir -p $D && cp .carry/data/problems.jsonl $D/
for f in .carry/data/*.jsonl.xz; do
  bash scripts/gpu/unxz.sh "$f" "$D/$(basename "$f" .xz)" &
done
bash scripts/gpu/unpack-binary.sh /tmp/bin/deepprune
wait
bash scripts/gpu/cubecl-cache.sh import
sed -i 's/level = "balanced"/level = "minimal"/' cubecl.toml
