#!/usr/bin/env bash
# Build the Windows installer on Linux: installer/build/FramePackDesktop-Setup-<version>.exe
#
# Needs python3 with pip, makensis (Debian: apt-get install nsis) and access to PyPI (for the
# wheel's build backend and the pinned uv wheel). BUILD_DIR overrides the output folder.
set -euo pipefail

installer="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$installer")"
build="${BUILD_DIR:-$installer/build}"
python="${PYTHON:-python3}"
tools=("$python" "$installer/build_tools.py")

if ! command -v makensis >/dev/null; then
    echo "build.sh: makensis not found; install it with: apt-get install nsis" >&2
    exit 1
fi

mkdir -p "$build"
build="$(cd "$build" && pwd)"
rm -rf "$build/source" "$build/wheel" "$build/uv" "$build/payload" "$build"/FramePackDesktop-Setup-*.exe

echo "[1/4] building the app wheel"
"${tools[@]}" stage-source "$root" "$build/source"
"$python" -m pip wheel --quiet --no-deps "$build/source" -w "$build/wheel"

echo "[2/4] fetching uv.exe (win_amd64 wheel pinned in installer/uv-requirement.txt)"
"$python" -m pip download --quiet --no-deps --only-binary=:all: --platform win_amd64 \
    --require-hashes -r "$installer/uv-requirement.txt" -d "$build/uv"

echo "[3/4] assembling the payload"
defines_text="$("${tools[@]}" payload --root "$root" --app-wheel-dir "$build/wheel" \
    --uv-wheel-dir "$build/uv" --payload "$build/payload" --out-dir "$build")"
mapfile -t defines <<<"$defines_text"

echo "[4/4] makensis (LZMA compression takes about half a minute)"
makensis -V2 -WX "${defines[@]}" "$installer/FramePackDesktop.nsi"

ls "$build"/FramePackDesktop-Setup-*.exe
