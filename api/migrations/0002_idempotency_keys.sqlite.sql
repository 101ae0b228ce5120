-- Idempotency keys (SQLite). The PostgreSQL twin is 0002_idempotency_keys.postgresql.sql, which
-- says what the columns mean: keep them in step. Timestamps as in cars: ISO 8601 UTC text.
CREATE TABLE idempotency_keys (
    principal TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    claim TEXT NOT NULL,
    status INTEGER,
    car_id INTEGER,
    record TEXT,
    created_at TEXT NOT NULL,
    locked_until TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (principal, idempotency_key)
);

CREATE INDEX idempotency_keys_expires_at ON idempotency_keys (expires_at);
