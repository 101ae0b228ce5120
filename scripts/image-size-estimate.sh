#!/usr/bin/env bash
# Estimates the runtime image's size without Docker: builds the venv the Dockerfile builds (same script,
# scripts/build-venv.sh) with the image's own wheels (musllinux, CPython 3.11, x86_64: the base is Alpine)
# even on a glibc machine, stripped and byte-compiled the same way, measures it and the api package, on
# disk and gzip-compressed (registry layers are gzip tarballs), and adds the base image's published
# figures. An estimate until `docker build` confirms it (CI's smoke test prints the real one).
#
# Usage: scripts/image-size-estimate.sh            (PYTHON selects the interpreter, default python3.11)
set -euo pipefail
cd "$(dirname "$0")/.."

# python:3.11.16-alpine3.23, linux/amd64, from docker-library/repo-info (repos/python/remote/ and
# repos/python/local/3.11.16-alpine3.23.md): 20,364,662 bytes compressed, ~60.79 MB on disk.
base_name=python:3.11.16-alpine3.23
base_compressed=20364662
base_on_disk=60790000
wheel_platform=musllinux_1_2_x86_64
# 120 MB since bearer-token checks need cryptography (12.9 MB; docs/container.md).
budget=$((120 * 1000 * 1000))

python=${PYTHON:-python3.11}
if [ "$("$python" -c 'import sys; print(sys.version_info[:2] == (3, 11))')" != True ]; then
  echo "image-size-estimate: $python is not CPython 3.11 (set PYTHON)" >&2
  exit 2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

PYTHON=$python WHEEL_PLATFORM=$wheel_platform scripts/build-venv.sh setup.cfg "$work/venv" 2>"$work/pip.log" || {
  cat "$work/pip.log" >&2
  exit 1
}
mkdir -p "$work/app"
cp -R api "$work/app/"
find "$work/app" -name __pycache__ -prune -exec rm -rf {} +
"$python" -m compileall -q --invalidation-mode unchecked-hash "$work/app/api"
mkdir -p "$work/rds-ca"
cp certs/rds-global-bundle.pem "$work/rds-ca/global-bundle.pem"

on_disk() { du -sb "$1" | cut -f1; }
compressed() { tar -C "$1" -cf - . | gzip -6 | wc -c; }
mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1000000 }'; }

venv_disk=$(on_disk "$work/venv")
venv_gz=$(compressed "$work/venv")
app_disk=$(on_disk "$work/app")
app_gz=$(compressed "$work/app")
ca_disk=$(on_disk "$work/rds-ca")
ca_gz=$(compressed "$work/rds-ca")
total_disk=$((base_on_disk + venv_disk + app_disk + ca_disk))
total_gz=$((base_compressed + venv_gz + app_gz + ca_gz))

printf '%-34s %12s %14s\n' "layer" "on disk" "compressed"
printf '%-34s %12s %14s\n' "$base_name" "$(mb "$base_on_disk")" "$(mb "$base_compressed")"
printf '%-34s %12s %14s\n' "/opt/venv (runtime dependencies)" "$(mb "$venv_disk")" "$(mb "$venv_gz")"
printf '%-34s %12s %14s\n' "/app/api" "$(mb "$app_disk")" "$(mb "$app_gz")"
printf '%-34s %12s %14s\n' "/opt/rds-ca/global-bundle.pem" "$(mb "$ca_disk")" "$(mb "$ca_gz")"
printf '%-34s %12s %14s\n' "total (estimate)" "$(mb "$total_disk")" "$(mb "$total_gz")"
echo
echo "Largest packages in the venv (on disk):"
# awk, not head, takes the first lines: head would end the pipe early and fail it under pipefail.
du -sb "$work"/venv/lib/python3.11/site-packages/* | sort -rn | awk 'NR <= 8' |
  while read -r bytes path; do printf '  %-28s %12s\n' "$(basename "$path")" "$(mb "$bytes")"; done
echo
# The target is the image on disk (what `docker images` shows), which also bounds the compressed size.
status=0
for figure in "on disk:$total_disk" "compressed:$total_gz"; do
  if [ "${figure#*:}" -le "$budget" ]; then
    echo "${figure%%:*} estimate $(mb "${figure#*:}") is within the 120 MB budget"
  else
    echo "${figure%%:*} estimate $(mb "${figure#*:}") is OVER the 120 MB budget" >&2
    status=1
  fi
done
exit "$status"
