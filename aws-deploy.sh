#!/usr/bin/env bash
# Deploy (create or update) the data stack, then the api-cars service wired to it, each through
# a reviewed change set. A thin wrapper: every option is cars-stack's, e.g.
#   ./aws-deploy.sh --image-tag v1.0.0 --region eu-west-1
#   ./aws-deploy.sh --only service --image-tag v1.0.1
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [[ ! -x "$here/.venv/bin/cars-stack" ]]; then
  echo "aws-deploy.sh: .venv/bin/cars-stack is missing: run make init first" >&2
  exit 2
fi
exec "$here/.venv/bin/cars-stack" deploy "$@"
