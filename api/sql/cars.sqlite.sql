-- SQLite's own statements (api.database loads them there, beside cars.sql's).

-- name: insert_car_keyed
-- A car created under an idempotency key's claim: SqliteDatabase.insert runs it in one
-- transaction with claim_held before and record_created after (PostgreSQL's twin does all three
-- in one statement, which SQLite cannot: no INSERT or UPDATE inside WITH).
INSERT INTO cars (make, model, year, color, price, mileage_km, vin, version, created_at, updated_at)
VALUES (:make, :model, :year, :color, :price, :mileage_km, :vin, 1, :now, :now)
RETURNING id, make, model, year, color, CAST(price AS TEXT) AS price_text, mileage_km, vin, version,
       created_at, updated_at;
