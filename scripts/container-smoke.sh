#!/usr/bin/env bash
# Proves on a real Docker engine what the linters and tests cannot (CI's `docker` job runs it):
# the image runs as uid 10001 on a read-only root file system, its HEALTHCHECK turns healthy without
# curl, /version and /docs (with its files) answer, SIGTERM stops it cleanly before Docker would kill
# it, and its size on disk (and so compressed) is within budget.
#
# Usage: scripts/container-smoke.sh IMAGE [EXPECTED_VERSION]
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: $0 IMAGE [EXPECTED_VERSION]" >&2
  exit 2
fi
image=$1
expected_version=${2:-}
name="api-cars-smoke-$$"
host_port=${SMOKE_PORT:-18000}
# 120 MB since bearer-token checks need cryptography (12.9 MB; docs/container.md).
budget_bytes=$((120 * 1000 * 1000))
stop_timeout=30 # the task definition's stopTimeout

fail() {
  echo "container-smoke: $*" >&2
  exit 1
}
cleanup() { docker rm -f "$name" >/dev/null 2>&1 || true; }
trap cleanup EXIT

uid=$(docker run --rm --entrypoint id "$image" -u)
[ "$uid" = "10001" ] || fail "runs as uid $uid, expected 10001"
echo "ok: runs as uid $uid"

# /tmp without --tmpfs: the volume the image declares, which Docker, like Fargate, fills from the
# image's /tmp, owner and mode included. uid 10001 must be able to write there.
tmp_mode=$(docker run --rm --read-only --entrypoint stat "$image" -c '%u %a' /tmp)
[ "$tmp_mode" = "10001 1777" ] || fail "/tmp is '$tmp_mode' (uid mode), expected '10001 1777'"
docker run --rm --read-only --entrypoint touch "$image" /tmp/probe || fail "uid 10001 cannot write /tmp"
echo "ok: /tmp is a volume uid 10001 writes"

# The RDS CA bundle PGSSLROOTCERT points at loads as CA certificates.
docker run --rm --entrypoint python "$image" -c \
  "import ssl; assert len(ssl.create_default_context(cafile='/opt/rds-ca/global-bundle.pem').get_ca_certs()) > 100" ||
  fail "/opt/rds-ca/global-bundle.pem does not load"
echo "ok: /opt/rds-ca/global-bundle.pem loads"

# Production-like: read-only root, writable /tmp only, no capabilities. No DATABASE_URL: the embedded
# SQLite file under /tmp, migrated on start; no token issuer here, so writes are open (AUTH_DISABLED).
docker run -d --name "$name" --read-only --tmpfs /tmp --cap-drop ALL -e AUTH_DISABLED=true \
  --security-opt no-new-privileges -p "127.0.0.1:${host_port}:8000" "$image" >/dev/null

deadline=$(($(date +%s) + 90))
status=starting
until [ "$status" = healthy ]; do
  status=$(docker inspect -f '{{.State.Health.Status}}' "$name")
  if [ "$status" = unhealthy ] || [ "$(docker inspect -f '{{.State.Running}}' "$name")" != true ]; then
    docker logs "$name" >&2 || true
    fail "container is $status"
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    docker logs "$name" >&2 || true
    fail "not healthy after 90 s (status: $status)"
  fi
  sleep 1
done
echo "ok: HEALTHCHECK healthy"

version_json=$(curl -fsS "http://127.0.0.1:${host_port}/version")
echo "ok: /version answers $version_json"
if [ -n "$expected_version" ]; then
  actual=$(printf '%s' "$version_json" | python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')
  [ "$actual" = "$expected_version" ] || fail "/version says $actual, expected $expected_version"
fi

# /docs needs Swagger UI's files from the docs-page stage: without them it answers 503.
for path in /docs /docs/swagger-ui-bundle.js /docs/swagger-ui.css /docs/init.js; do
  curl -fsS -o /dev/null "http://127.0.0.1:${host_port}${path}" || fail "$path does not answer 200"
done
echo "ok: /docs and its files answer"

started=$(date +%s)
docker stop -t "$stop_timeout" "$name" >/dev/null
elapsed=$(($(date +%s) - started))
exit_code=$(docker inspect -f '{{.State.ExitCode}}' "$name")
[ "$exit_code" = 0 ] || fail "exit code $exit_code after SIGTERM (137 means Docker had to kill it)"
echo "ok: SIGTERM stopped it cleanly in ${elapsed} s"

size_bytes=$(docker image inspect -f '{{.Size}}' "$image")
compressed_bytes=$(docker save "$image" | gzip -6 | wc -c)
summary="image $image: $((size_bytes / 1000000)) MB on disk, $((compressed_bytes / 1000000)) MB compressed (budget $((budget_bytes / 1000000)) MB on disk)"
echo "$summary"
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  echo "$summary" >>"$GITHUB_STEP_SUMMARY"
fi
[ "$size_bytes" -le "$budget_bytes" ] || fail "over budget: $summary"
