#!/usr/bin/env bash
# Delete the api-cars service stack (asks you to type its name; --yes skips that). The data stack
# (database and cache), the ECR repository and its images stay. A thin wrapper: every option is
# cars-stack's, e.g.
#   ./cleanup.sh --stack-name api-cars --region eu-west-1
#   ./cleanup.sh --delete-data api-cars-data   # the data too (a final snapshot stays)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [[ ! -x "$here/.venv/bin/cars-stack" ]]; then
  echo "cleanup.sh: .venv/bin/cars-stack is missing: run make init first" >&2
  exit 2
fi
exec "$here/.venv/bin/cars-stack" destroy "$@"
