#!/bin/sh
# Builds the virtual environment the image ships: setup.cfg's install_requires only (never the deploy or
# dev extras), no pip inside, shared objects stripped of debug symbols, byte code compiled once.
# The Dockerfile's build stage and scripts/image-size-estimate.sh both run it, so the estimate measures
# exactly what the image carries.
#
# Wheels only (--only-binary=:all:): a dependency without a wheel for the platform fails the build instead
# of pulling a compiler in. The image is Alpine, so those are musllinux wheels.
#
# Usage: scripts/build-venv.sh SETUP_CFG VENV_DIR      (PYTHON selects the interpreter, default python3)
#   WHEEL_PLATFORM=musllinux_1_2_x86_64 installs that platform's wheels instead of the interpreter's own:
#   how scripts/image-size-estimate.sh measures the Alpine image's venv from a glibc machine.
# POSIX sh, not bash: the Alpine base has only BusyBox ash.
set -eu

if [ $# -ne 2 ]; then
  echo "usage: $0 SETUP_CFG VENV_DIR" >&2
  exit 2
fi
setup_cfg=$1
venv=$2
python=${PYTHON:-python3}

if [ ! -r "$setup_cfg" ]; then
  echo "build-venv: cannot read $setup_cfg" >&2
  exit 2
fi
if ! command -v strip >/dev/null 2>&1; then
  echo "build-venv: strip not found: install binutils" >&2
  exit 2
fi

requirements=$(mktemp)
trap 'rm -f "$requirements"' EXIT
# setup.cfg is the one place pins live: read install_requires from it instead of copying the list.
"$python" - "$setup_cfg" >"$requirements" <<'PY'
import configparser
import sys

config = configparser.RawConfigParser()
config.read(sys.argv[1])
try:
    print(config["options"]["install_requires"].strip())
except KeyError:
    sys.exit(f"build-venv: {sys.argv[1]} has no [options] install_requires")
PY

"$python" -m venv --without-pip "$venv"
if [ -z "${WHEEL_PLATFORM:-}" ]; then
  # pip runs from the build interpreter and installs into the venv, so the venv itself carries no pip.
  "$python" -m pip --python "$venv/bin/python" install --quiet --no-compile --only-binary=:all: \
    --requirement "$requirements"
else
  site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
  version=$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  "$python" -m pip install --quiet --no-compile --only-binary=:all: --requirement "$requirements" \
    --platform "$WHEEL_PLATFORM" --implementation cp --python-version "$version" --target "$site"
  # --target puts console scripts beside the packages; a venv keeps them in bin/.
  if [ -d "$site/bin" ]; then
    mv "$site"/bin/* "$venv/bin/"
    rmdir "$site/bin"
  fi
fi

# Wheels ship their C extensions with debug symbols: stripping roughly halves the venv.
find "$venv" -type f \( -name '*.so' -o -name '*.so.*' \) -exec strip --strip-unneeded {} +
# unchecked-hash byte code stays valid whatever the files' timestamps, and the image's root file system
# is read-only, so nothing could be cached at run time.
"$venv/bin/python" -m compileall -q -j 0 --invalidation-mode unchecked-hash "$venv/lib"
