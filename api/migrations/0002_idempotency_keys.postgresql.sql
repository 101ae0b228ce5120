-- Idempotency keys of POST /v1/cars and of the batch's rows (PostgreSQL). The SQLite twin is
-- 0002_idempotency_keys.sqlite.sql: keep them in step. Expand only: older releases ignore it.
-- A row is a key's claim while status is NULL (a request holding `claim` is creating the car),
-- then its outcome: 201 with the created car's row as a JSON array (`record`, written in the
-- same statement as the car, so a car never exists without its key's outcome), or 409 with the
-- problem answered. Past expires_at a row is ignored and deleted by the API's periodic purge.
CREATE TABLE idempotency_keys (
    principal TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    claim TEXT NOT NULL,
    status INTEGER,
    car_id BIGINT,
    record TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    locked_until TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (principal, idempotency_key)
);

CREATE INDEX idempotency_keys_expires_at ON idempotency_keys (expires_at);
