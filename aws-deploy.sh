#!/usr/bin/env bash
# Deploy (create or update) the api-cars stack through a reviewed change set.
# A thin wrapper: every option is cars-stack's, e.g.
#   ./aws-deploy.sh --image-tag v1.0.0 --region eu-west-1
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [[ ! -x "$here/.venv/bin/cars-stack" ]]; then
  echo "aws-deploy.sh: .venv/bin/cars-stack is missing: run make init first" >&2
  exit 2
fi
exec "$here/.venv/bin/cars-stack" deploy "$@"
