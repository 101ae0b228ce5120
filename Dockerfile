# api-cars: the Sanic API as a small, non-root, read-only-friendly image.
# Build:  docker build --build-arg VERSION=v1.2.3 --build-arg GIT_SHA="$(git rev-parse HEAD)" -t api-cars .
# Size and what only Docker can prove: docs/container.md.

# One pin for both stages, by version and by digest (the multi-arch index of python:3.11.16-slim-bookworm,
# as published in docker-library/repo-info). Refresh both together:
#   docker buildx imagetools inspect python:3.11-slim-bookworm
FROM python:3.11.16-slim-bookworm@sha256:c425d915a89a6dcd3183b1797ad9bd8878caff5a417f6371c8df93c8ea8b727f AS base

# --- build: the runtime dependencies in /opt/venv --------------------------------------------------
FROM base AS build
# binutils only for `strip` (scripts/build-venv.sh); it never reaches the runtime stage.
RUN apt-get update \
    && apt-get install -y --no-install-recommends binutils=2.40-2 \
    && rm -rf /var/lib/apt/lists/*
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHON=python3
WORKDIR /src
# setup.cfg alone decides this layer, so code changes reuse the cached dependencies.
COPY setup.cfg scripts/build-venv.sh ./
RUN ./build-venv.sh setup.cfg /opt/venv
COPY api/ api/
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
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin app

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

USER 10001:10001
EXPOSE 8000
# python -m api.healthcheck asks GET /health with the standard library: the image has no curl.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
    CMD ["python", "-m", "api.healthcheck"]
STOPSIGNAL SIGTERM
# Exec form: the server is PID 1 and receives SIGTERM itself, so it drains within SHUTDOWN_GRACE_SECONDS.
ENTRYPOINT ["python", "-m", "api"]
