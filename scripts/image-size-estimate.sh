#!/usr/bin/env bash
# Estimates the runtime image's size without Docker: builds the venv the Dockerfile builds (same script,
# scripts/build-venv.sh) for this machine's CPython 3.11 on Linux x86_64, measures it and the api
# package, on disk and gzip-compressed (registry layers are gzip tarballs), and adds the base image's
# published figures. An estimate until `docker build` confirms it (CI's smoke test prints the real one).
#
# Usage: scripts/image-size-estimate.sh            (PYTHON selects the interpreter, default python3.11)
set -euo pipefail
cd "$(dirname "$0")/.."

# python:3.11.16-slim-bookworm, linux/amd64, from docker-library/repo-info (repos/python/remote/ and
# repos/python/local/3.11.16-slim-bookworm.md): 47,790,378 bytes compressed, ~130.01 MB on disk.
base_compressed=47790378
base_on_disk=130010000
budget=$((100 * 1000 * 1000))

python=${PYTHON:-python3.11}
if [ "$("$python" -c 'import sys; print(sys.version_info[:2] == (3, 11))')" != True ]; then
  echo "image-size-estimate: $python is not CPython 3.11 (set PYTHON)" >&2
  exit 2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

PYTHON=$python scripts/build-venv.sh setup.cfg "$work/venv" 2>"$work/pip.log" || {
  cat "$work/pip.log" >&2
  exit 1
}
mkdir -p "$work/app"
cp -R api "$work/app/"
find "$work/app" -name __pycache__ -prune -exec rm -rf {} +
"$python" -m compileall -q --invalidation-mode unchecked-hash "$work/app/api"

on_disk() { du -sb "$1" | cut -f1; }
compressed() { tar -C "$1" -cf - . | gzip -6 | wc -c; }
mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1000000 }'; }

venv_disk=$(on_disk "$work/venv")
venv_gz=$(compressed "$work/venv")
app_disk=$(on_disk "$work/app")
app_gz=$(compressed "$work/app")
total_disk=$((base_on_disk + venv_disk + app_disk))
total_gz=$((base_compressed + venv_gz + app_gz))

printf '%-34s %12s %14s\n' "layer" "on disk" "compressed"
printf '%-34s %12s %14s\n' "python:3.11.16-slim-bookworm" "$(mb "$base_on_disk")" "$(mb "$base_compressed")"
printf '%-34s %12s %14s\n' "/opt/venv (runtime dependencies)" "$(mb "$venv_disk")" "$(mb "$venv_gz")"
printf '%-34s %12s %14s\n' "/app/api" "$(mb "$app_disk")" "$(mb "$app_gz")"
printf '%-34s %12s %14s\n' "total (estimate)" "$(mb "$total_disk")" "$(mb "$total_gz")"
echo
echo "Largest packages in the venv (on disk):"
# awk, not head, takes the first lines: head would end the pipe early and fail it under pipefail.
du -sb "$work"/venv/lib/python3.11/site-packages/* | sort -rn | awk 'NR <= 8' |
  while read -r bytes path; do printf '  %-28s %12s\n' "$(basename "$path")" "$(mb "$bytes")"; done
echo
if [ "$total_gz" -le "$budget" ]; then
  echo "compressed estimate $(mb "$total_gz") is within the 100 MB budget"
else
  echo "compressed estimate $(mb "$total_gz") is OVER the 100 MB budget" >&2
  exit 1
fi
