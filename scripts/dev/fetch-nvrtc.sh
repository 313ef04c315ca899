#!/usr/bin/env bash
# Fetch NVIDIA's runtime compiler, NVRTC 13.0 (the version of the GPU machine's CUDA), into
# ~/.cache/deepprune/nvrtc, for the test that compiles the judge's hand-written CUDA kernel
# (src/judge/kernels/flash2.cu) on a machine without a GPU (tests/cuda_kernel_source.rs, run by
# .ci/run). NVRTC compiles without a GPU or a driver.
#
# The library comes from the PyPI wheel `nvidia-cuda-nvrtc==13.0.88` (87 MB), checked against a
# pinned sha256; only its two shared libraries are kept (about 110 MB unpacked).
#
# Idempotent: when the libraries are present, nothing is downloaded. Prints the library folder.
#
# Usage: scripts/dev/fetch-nvrtc.sh [DEST_DIR]   (default: ~/.cache/deepprune/nvrtc)
set -euo pipefail

PACKAGE="nvidia-cuda-nvrtc==13.0.88"
WHEEL="nvidia_cuda_nvrtc-13.0.88-py3-none-manylinux2010_x86_64.manylinux_2_12_x86_64.whl"
SHA256=ad9b6d2ead2435f11cbb6868809d2adeeee302e9bb94bcf0539c7a40d80e8575
DEST="${1:-$HOME/.cache/deepprune/nvrtc}"
LIB="$DEST/lib"

if [ -f "$LIB/libnvrtc.so.13" ] && [ -f "$LIB/libnvrtc-builtins.so.13.0" ]; then
  echo "$LIB"
  exit 0
fi
mkdir -p "$DEST"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps "$PACKAGE" -d "$tmp" >&2
got=$(sha256sum "$tmp/$WHEEL" | cut -d' ' -f1)
if [ "$got" != "$SHA256" ]; then
  echo "fetch-nvrtc.sh: $WHEEL has sha256 $got, expected $SHA256" >&2
  exit 1
fi
python3 - "$tmp/$WHEEL" "$LIB" <<'PY'
import os, sys, zipfile
wheel, lib = sys.argv[1], sys.argv[2]
os.makedirs(lib, exist_ok=True)
with zipfile.ZipFile(wheel) as z:
    for name in ("libnvrtc.so.13", "libnvrtc-builtins.so.13.0"):
        with z.open(f"nvidia/cu13/lib/{name}") as src, open(os.path.join(lib, name + ".part"), "wb") as dst:
            dst.write(src.read())
        os.replace(os.path.join(lib, name + ".part"), os.path.join(lib, name))
PY
echo "$LIB"
