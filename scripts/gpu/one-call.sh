# Sourced first by the one-call GPU scripts, after they set DEADLINE (seconds from now that the
# call's work must end by). Unpacks what the call carried in .carry/ (scripts/dev/carry-prep.py
# --xz, then the binary): the binary into B, the data into D, CubeCL's caches into target/; sets
# autotune to "minimal" (a cold "balanced" tune of the training shapes takes minutes); sends the
# caches back to $OUT however the script ends (a script that sets its own EXIT trap exports them
# itself), and defines:
#   left          seconds until DEADLINE
#   at MSG...     prints MSG stamped with the seconds since the start
#   upto R CMD... runs CMD until R seconds before DEADLINE; skips it (status 124) when under 10 s
#                 would be left (timeout 0 would mean no limit at all)
#   plain LOG     LOG without ANSI colour codes, which older builds wrote into files too
start=$(date +%s)
left() { echo $((DEADLINE - ($(date +%s) - start))); }
at() { echo "[$(($(date +%s) - start)) s] $*"; }
upto() { local t=$(($(left) - $1)); shift; [ $t -ge 10 ] || { echo "skipped (no time): $1 $2"; return 124; }; timeout $t "$@"; }
plain() { sed 's/\x1b\[[0-9;]*m//g' "$1"; }
B=/tmp/bin/deepprune D=/tmp/c/data ROOT=$PWD
mkdir -p $D && cp .carry/data/problems.jsonl $D/
for f in .carry/data/*.jsonl.xz; do
  bash scripts/gpu/unxz.sh "$f" "$D/$(basename "$f" .xz)" &
done
bash scripts/gpu/unpack-binary.sh $B
wait
bash scripts/gpu/cubecl-cache.sh import
sed -i 's/level = "balanced"/level = "minimal"/' cubecl.toml
trap 'bash scripts/gpu/cubecl-cache.sh export' EXIT
