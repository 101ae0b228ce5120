#!/usr/bin/env bash
# Fails, naming each one, when repository variables the release workflows need are unset or empty.
# The workflows map `vars.NAME` into the environment under the same NAME before calling it.
# Usage: scripts/require-vars.sh NAME...
set -euo pipefail

missing=()
for name in "$@"; do
  if [ -z "${!name:-}" ]; then
    missing+=("$name")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "repository variables not set: ${missing[*]} (Settings > Secrets and variables > Actions > Variables; see README, CI/CD)" >&2
  exit 1
fi
