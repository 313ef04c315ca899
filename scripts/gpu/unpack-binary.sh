#!/usr/bin/env bash
# Unpacks the carried cuda build (.carry/bin/deepprune.xz: stripped and xz-compressed to fit the
# 64 MiB carry limit) to DEST on the GPU machine, which has python3 but no xz. Writes DEST.new
# and renames it, so a reader never sees a half-written binary.
#   unpack-binary.sh DEST
set -eu
dest=${1:?usage: unpack-binary.sh DEST}
bash "$(dirname "$0")/unxz.sh" .carry/bin/deepprune.xz "$dest.new"
chmod +x "$dest.new"
mv -f "$dest.new" "$dest"
