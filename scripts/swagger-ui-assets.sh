#!/bin/sh
# Puts the Swagger UI files that /docs serves into DEST: swagger-ui-dist as pinned in PACKAGE_DIR's
# package-lock.json (npm ci refuses a tarball whose sha512 differs from the lock's), of which only the
# bundle, its stylesheet and the licence texts are kept (1.9 MB of the package's 12 MB).
# The Makefile (for .venv) and the Dockerfile (for the image) both run it, so both serve the same files.
#
# Usage: scripts/swagger-ui-assets.sh PACKAGE_DIR DEST
# POSIX sh, not bash: the Docker build stage is Alpine (BusyBox ash).
set -eu

if [ $# -ne 2 ]; then
  echo "usage: $0 PACKAGE_DIR DEST" >&2
  exit 2
fi
package_dir=$1
dest=$2
if ! command -v npm >/dev/null 2>&1; then
  echo "swagger-ui-assets: npm not found: install Node.js and npm (Debian: apt-get install npm)" >&2
  exit 2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$package_dir/package.json" "$package_dir/package-lock.json" "$work/"
# --ignore-scripts: swagger-ui-dist's one dependency, @scarf/scarf, only phones home on install.
SCARF_ANALYTICS=false npm ci --prefix "$work" --ignore-scripts --no-audit --no-fund --loglevel=error

dist=$work/node_modules/swagger-ui-dist
mkdir -p "$work/out"
for file in swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css LICENSE NOTICE; do
  cp "$dist/$file" "$work/out/"
done
# Replaced whole, so DEST never holds files of two versions.
rm -rf "$dest"
mkdir -p "$(dirname "$dest")"
cp -R "$work/out" "$dest"
