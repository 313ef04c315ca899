#!/usr/bin/env bash
# Decompresses an .xz file on the GPU machine, which has python3 but no xz. Writes DEST.new and
# renames it, so a reader never sees a half-written file.
#   unxz.sh SRC DEST
set -eu
src=${1:?usage: unxz.sh SRC DEST} dest=${2:?usage: unxz.sh SRC DEST}
mkdir -p "$(dirname "$dest")"
python3 -c "import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],'wb'))" "$src" "$dest.new"
mv -f "$dest.new" "$dest"
