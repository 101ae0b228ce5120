-- Idempotency keys (POST /v1/cars with Idempotency-Key, and the rows of POST /v1/cars:batch),
-- for PostgreSQL and SQLite alike. What a row means: api/migrations/0002_idempotency_keys.*.sql.

-- name: claim_key
-- Take the key for this request: a row comes back when the key is new, expired, or an abandoned
-- claim of the same body whose lease ran out (that request created nothing: a car and its key's
-- outcome are written in one statement or transaction). No row: read the key with get_key.
INSERT INTO idempotency_keys (principal, idempotency_key, fingerprint, claim, status, car_id,
                              record, created_at, locked_until, expires_at)
VALUES (:principal, :idempotency_key, :fingerprint, :claim, NULL, NULL, NULL, :now,
        :locked_until, :expires_at)
ON CONFLICT (principal, idempotency_key) DO UPDATE
   SET fingerprint = excluded.fingerprint, claim = excluded.claim, status = NULL, car_id = NULL,
       record = NULL, created_at = excluded.created_at, locked_until = excluded.locked_until,
       expires_at = excluded.expires_at
 WHERE idempotency_keys.expires_at <= excluded.created_at
    OR (idempotency_keys.status IS NULL AND idempotency_keys.locked_until <= excluded.created_at
        AND idempotency_keys.fingerprint = excluded.fingerprint)
RETURNING claim;

-- name: get_key
SELECT fingerprint, status, car_id, record
  FROM idempotency_keys
 WHERE principal = :principal AND idempotency_key = :idempotency_key AND expires_at > :now;

-- name: record_key
-- The outcome of a claim that created no car (409: the VIN is taken), answered again on replay.
UPDATE idempotency_keys
   SET status = :status, record = :record
 WHERE principal = :principal AND idempotency_key = :idempotency_key AND claim = :claim
   AND status IS NULL
RETURNING status;

-- name: claim_held
-- SQLite only (PostgreSQL checks inside insert_car): whether the claim is still this request's,
-- in the transaction that then inserts the car.
SELECT claim
  FROM idempotency_keys
 WHERE principal = :principal AND idempotency_key = :idempotency_key AND claim = :claim
   AND status IS NULL;

-- name: record_created
-- SQLite only (PostgreSQL does this inside insert_car): the car this claim created, written in
-- the car's own transaction.
UPDATE idempotency_keys
   SET status = 201, car_id = :car_id, record = :record
 WHERE principal = :principal AND idempotency_key = :idempotency_key AND claim = :claim
   AND status IS NULL
RETURNING status;

-- name: release_key
-- A claim whose request failed before creating anything: free the key for a retry at once.
DELETE FROM idempotency_keys
 WHERE principal = :principal AND idempotency_key = :idempotency_key AND claim = :claim
   AND status IS NULL
RETURNING claim;

-- name: purge_keys
-- Expired keys, a bounded number per statement (the caller repeats while it gets :limit rows).
DELETE FROM idempotency_keys
 WHERE (principal, idempotency_key) IN (SELECT principal, idempotency_key
                                          FROM idempotency_keys
                                         WHERE expires_at <= :now
                                         LIMIT :limit)
RETURNING principal;
