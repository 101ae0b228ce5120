# api-cars: the Sanic API as a small, non-root, read-only-friendly image.
# Build:  docker build --build-arg VERSION=v1.2.3 --build-arg GIT_SHA="$(git rev-parse HEAD)" -t api-cars .
# Size and what only Docker can prove: docs/container.md.

# One pin for both stages, by version and by digest (the multi-arch index of python:3.11.16-alpine3.23,
# as published in docker-library/repo-info). Alpine (musl) rather than Debian slim: 61 MB on disk instead
# of 130 MB, which is what keeps the image under 100 MB; every dependency ships a musllinux wheel, and
# docs/container.md weighs the trade-offs. Refresh both together:
#   docker buildx imagetools inspect python:3.11-alpine3.23
FROM python:3.11.16-alpine3.23@sha256:2f733aea79a8d8a2cc402e90846eb6dc53af40b382f64e08326d6f81f379c4f0 AS base

# --- docs-page: Swagger UI's files for /docs, from npm as api/docs/package-lock.json pins them -------
FROM base AS docs-page
# npm (and Node.js) stay in this stage; the runtime gets two files from it. `~11`: Alpine 3.23's npm 11.x.
RUN apk add --no-cache npm~11
WORKDIR /src
COPY api/docs/package.json api/docs/package-lock.json api/docs/
COPY scripts/swagger-ui-assets.sh scripts/
RUN scripts/swagger-ui-assets.sh api/docs /swagger-ui

# --- build: the runtime dependencies in /opt/venv --------------------------------------------------
FROM base AS build
# binutils only for `strip` (scripts/build-venv.sh); it never reaches the runtime stage. `~2.45` takes
# Alpine 3.23's binutils 2.45.x whatever its -rN revision (apk drops superseded revisions).
RUN apk add --no-cache binutils~2.45
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHON=python3
WORKDIR /src
# setup.cfg alone decides this layer, so code changes reuse the cached dependencies. build-venv.sh takes
# musllinux wheels only (--only-binary=:all:): a dependency without one fails here, never compiles.
COPY setup.cfg scripts/build-venv.sh ./
RUN ./build-venv.sh setup.cfg /opt/venv
COPY api/ api/
COPY --from=docs-page /swagger-ui api/docs/swagger-ui/
RUN python -m compileall -q --invalidation-mode unchecked-hash api

# --- runtime: the venv and the api package, nothing else ---------------------------------------------
FROM base AS runtime
ARG VERSION=dev
ARG GIT_SHA=unknown
ARG BUILD_DATE=unknown
ARG SOURCE_URL=""
LABEL org.opencontainers.image.title="api-cars" \
      org.opencontainers.image.description="Cars REST API (Sanic, PostgreSQL, Redis)" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${GIT_SHA}" \
      org.opencontainers.image.created="${BUILD_DATE}" \
      org.opencontainers.image.source="${SOURCE_URL}"

# A named user with a fixed uid/gid (10001, the contract with the task definition); libraries that look
# the user up (getpass) find it. No home directory: the root file system is read-only in production.
RUN addgroup -S -g 10001 app \
    && adduser -S -D -H -u 10001 -G app -h /nonexistent -s /sbin/nologin app

# APP_VERSION is only the default: the task definition sets it to the ImageTag it runs.
# SQLITE_PATH points at /tmp, the one writable place when the root file system is read-only.
ENV PATH="/opt/venv/bin:${PATH}" \
    VIRTUAL_ENV=/opt/venv \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 \
    PORT=8000 \
    WORKERS=1 \
    SQLITE_PATH=/tmp/api-cars.sqlite3 \
    APP_VERSION="${VERSION}" \
    GIT_SHA="${GIT_SHA}" \
    BUILD_DATE="${BUILD_DATE}"

WORKDIR /app
# Owned by root and not writable by the app user.
COPY --from=build /opt/venv /opt/venv
COPY --from=build /src/api /app/api
# Amazon RDS's CA certificates, for PGSSLMODE=verify-full with PGSSLROOTCERT at this path (the
# contract with the task definition, docs/architecture.md "Stack layout"); where they come from:
# scripts/rds-ca-bundle.sh.
COPY --chmod=0444 certs/rds-global-bundle.pem /opt/rds-ca/global-bundle.pem

# /tmp, the one writable directory (SQLITE_PATH, temporary files), owned by the app user and
# declared a volume: Fargate mounts a volume without a host path over a path the image declares
# with VOLUME with the image's owner and mode; any other mount point is root's, mode 0755, which
# uid 10001 cannot write. Sticky like every /tmp. With `docker run --read-only --tmpfs /tmp` the
# tmpfs is mode 1777 anyway.
RUN chown 10001:10001 /tmp && chmod 1777 /tmp
VOLUME /tmp

USER 10001:10001
EXPOSE 8000
# python -m api.healthcheck asks GET /health with the standard library: the image has no curl.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
    CMD ["python", "-m", "api.healthcheck"]
STOPSIGNAL SIGTERM
# Exec form: the server is PID 1 and receives SIGTERM itself, so it drains within SHUTDOWN_GRACE_SECONDS.
ENTRYPOINT ["python", "-m", "api"]
