#!/usr/bin/env bash
# Release tags are vMAJOR.MINOR.PATCH (v1.2.3): no leading zeros, no suffix. Used by release.yml and
# rollback.yml before anything is built or changed.
# Usage: scripts/check-release-tag.sh TAG     exits 0 for a valid tag, else prints one line and exits 1
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 TAG" >&2
  exit 2
fi
if [[ ! "$1" =~ ^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$ ]]; then
  echo "release tag '$1' is not vX.Y.Z (for example v1.2.3)" >&2
  exit 1
fi
