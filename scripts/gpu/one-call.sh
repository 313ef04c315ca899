# Sourced first by the one-call GPU scripts, after they set DEADLINE (seconds from now that the
# call's work must end by). Unpacks what the call carried (prepare-carry.sh) into B (the binary)
# and D (the data), sends CubeCL's caches back to $OUT however the script ends (a script that
# sets its own EXIT trap exports them itself), and defines:
#   left          seconds until DEADLINE
#   at MSG...     prints MSG stamped with the seconds since the start
#   upto R CMD... runs CMD until R seconds before DEADLINE; skips it (status 124) when under 10 s
#                 would be left (timeout 0 would mean no limit at all)
start=$(date +%s)
left() { echo $((DEADLINE - ($(date +%s) - start))); }
at() { echo "[$(($(date +%s) - start)) s] $*"; }
upto() { local t=$(($(left) - $1)); shift; [ $t -ge 10 ] || { echo "skipped (no time): $1 $2"; return 124; }; timeout $t "$@"; }
B=/tmp/bin/deepprune D=/tmp/c/data ROOT=$PWD
bash scripts/gpu/prepare-carry.sh
trap 'bash scripts/gpu/cubecl-cache.sh export' EXIT
