-- SQLite's explicit transaction around an idempotent insert (api.database.SqliteDatabase.insert):
-- IMMEDIATE takes the write lock at once, so no other process writes in between.

-- name: begin_write!
BEGIN IMMEDIATE;

-- name: commit!
COMMIT;

-- name: rollback!
ROLLBACK;
