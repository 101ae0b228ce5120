-- Every SQL statement of the API, for PostgreSQL and SQLite alike (loaded by aiosql).
-- Optional parameters are written CAST(:p AS type) IS NULL OR ... so PostgreSQL can type them.
-- Prices are read as text: PostgreSQL writes NUMERIC(12, 2) with both decimals, and decoding
-- text is much cheaper than building Decimals (SQLite's form is normalised in api.cars.store).
-- List queries: one per sort order, keyset-paginated on (sort column, id); they return limit + 1
-- rows so the caller knows whether another page exists. They are written out rather than composed
-- at run time on purpose: no SQL is built from strings, each stays one prepared statement, and each
-- ORDER BY matches one index of the migration.

-- name: ping
SELECT 1;

-- name: get_car
SELECT id, make, model, year, color, CAST(price AS TEXT) AS price_text, mileage_km, vin, version,
       created_at, updated_at
  FROM cars
 WHERE id = :id;

-- name: insert_car
INSERT INTO cars (make, model, year, color, price, mileage_km, vin, version, created_at, updated_at)
VALUES (:make, :model, :year, :color, :price, :mileage_km, :vin, 1, :now, :now)
RETURNING id, make, model, year, color, CAST(price AS TEXT) AS price_text, mileage_km, vin, version,
       created_at, updated_at;

-- name: update_car
-- With :version set, matches only that version: concurrent writers cannot overwrite each other.
-- A write that changes nothing keeps the version and updated_at (so the ETag stays, and a retried
-- PUT with the same If-Match still matches); the right-hand sides read the row before the write.
UPDATE cars
   SET make = :make, model = :model, year = :year, color = :color, price = :price,
       mileage_km = :mileage_km, vin = :vin,
       version = CASE WHEN (make, model, year, color, price, mileage_km, vin)
                           IS NOT DISTINCT FROM (:make, :model, :year, :color, :price, :mileage_km, :vin)
                      THEN version ELSE version + 1 END,
       updated_at = CASE WHEN (make, model, year, color, price, mileage_km, vin)
                              IS NOT DISTINCT FROM (:make, :model, :year, :color, :price, :mileage_km,
                                                    :vin)
                         THEN updated_at ELSE :now END
 WHERE id = :id AND (CAST(:version AS INTEGER) IS NULL OR version = :version)
RETURNING id, make, model, year, color, CAST(price AS TEXT) AS price_text, mileage_km, vin, version,
       created_at, updated_at;

-- name: delete_car
DELETE FROM cars
 WHERE id = :id AND (CAST(:version AS INTEGER) IS NULL OR version = :version)
RETURNING id;

-- name: list_cars_by_id_asc
SELECT id, make, model, year, color, CAST(price AS TEXT) AS price_text, mileage_km, vin, version,
       created_at, updated_at
  FROM cars
 WHERE (CAST(:make AS TEXT) IS NULL OR make = :make)
   AND (CAST(:model AS TEXT) IS NULL OR model = :model)
   AND (CAST(:year_min AS INTEGER) IS NULL OR year >= :year_min)
   AND (CAST(:year_max AS INTEGER) IS NULL OR year <= :year_max)
   AND (CAST(:price_min AS NUMERIC) IS NULL OR price >= :price_min)
   AND (CAST(:price_max AS NUMERIC) IS NULL OR price <= :price_max)
   AND (CAST(:after_id AS BIGINT) IS NULL OR id > :after_id)
 ORDER BY id
 LIMIT :limit;

-- name: list_cars_by_id_desc
SELECT id, make, model, year, color, CAST(price AS TEXT) AS price_text, mileage_km, vin, version,
       created_at, updated_at
  FROM cars
 WHERE (CAST(:make AS TEXT) IS NULL OR make = :make)
   AND (CAST(:model AS TEXT) IS NULL OR model = :model)
   AND (CAST(:year_min AS INTEGER) IS NULL OR year >= :year_min)
   AND (CAST(:year_max AS INTEGER) IS NULL OR year <= :year_max)
   AND (CAST(:price_min AS NUMERIC) IS NULL OR price >= :price_min)
   AND (CAST(:price_max AS NUMERIC) IS NULL OR price <= :price_max)
   AND (CAST(:after_id AS BIGINT) IS NULL OR id < :after_id)
 ORDER BY id DESC
 LIMIT :limit;

-- name: list_cars_by_price_asc
SELECT id, make, model, year, color, CAST(price AS TEXT) AS price_text, mileage_km, vin, version,
       created_at, updated_at
  FROM cars
 WHERE (CAST(:make AS TEXT) IS NULL OR make = :make)
   AND (CAST(:model AS TEXT) IS NULL OR model = :model)
   AND (CAST(:year_min AS INTEGER) IS NULL OR year >= :year_min)
   AND (CAST(:year_max AS INTEGER) IS NULL OR year <= :year_max)
   AND (CAST(:price_min AS NUMERIC) IS NULL OR price >= :price_min)
   AND (CAST(:price_max AS NUMERIC) IS NULL OR price <= :price_max)
   AND (CAST(:after_id AS BIGINT) IS NULL OR (price, id) > (:after_key, :after_id))
 ORDER BY price, id
 LIMIT :limit;

-- name: list_cars_by_price_desc
SELECT id, make, model, year, color, CAST(price AS TEXT) AS price_text, mileage_km, vin, version,
       created_at, updated_at
  FROM cars
 WHERE (CAST(:make AS TEXT) IS NULL OR make = :make)
   AND (CAST(:model AS TEXT) IS NULL OR model = :model)
   AND (CAST(:year_min AS INTEGER) IS NULL OR year >= :year_min)
   AND (CAST(:year_max AS INTEGER) IS NULL OR year <= :year_max)
   AND (CAST(:price_min AS NUMERIC) IS NULL OR price >= :price_min)
   AND (CAST(:price_max AS NUMERIC) IS NULL OR price <= :price_max)
   AND (CAST(:after_id AS BIGINT) IS NULL OR (price, id) < (:after_key, :after_id))
 ORDER BY price DESC, id DESC
 LIMIT :limit;

-- name: list_cars_by_year_asc
SELECT id, make, model, year, color, CAST(price AS TEXT) AS price_text, mileage_km, vin, version,
       created_at, updated_at
  FROM cars
 WHERE (CAST(:make AS TEXT) IS NULL OR make = :make)
   AND (CAST(:model AS TEXT) IS NULL OR model = :model)
   AND (CAST(:year_min AS INTEGER) IS NULL OR year >= :year_min)
   AND (CAST(:year_max AS INTEGER) IS NULL OR year <= :year_max)
   AND (CAST(:price_min AS NUMERIC) IS NULL OR price >= :price_min)
   AND (CAST(:price_max AS NUMERIC) IS NULL OR price <= :price_max)
   AND (CAST(:after_id AS BIGINT) IS NULL OR (year, id) > (:after_key, :after_id))
 ORDER BY year, id
 LIMIT :limit;

-- name: list_cars_by_year_desc
SELECT id, make, model, year, color, CAST(price AS TEXT) AS price_text, mileage_km, vin, version,
       created_at, updated_at
  FROM cars
 WHERE (CAST(:make AS TEXT) IS NULL OR make = :make)
   AND (CAST(:model AS TEXT) IS NULL OR model = :model)
   AND (CAST(:year_min AS INTEGER) IS NULL OR year >= :year_min)
   AND (CAST(:year_max AS INTEGER) IS NULL OR year <= :year_max)
   AND (CAST(:price_min AS NUMERIC) IS NULL OR price >= :price_min)
   AND (CAST(:price_max AS NUMERIC) IS NULL OR price <= :price_max)
   AND (CAST(:after_id AS BIGINT) IS NULL OR (year, id) < (:after_key, :after_id))
 ORDER BY year DESC, id DESC
 LIMIT :limit;

-- name: list_cars_by_created_at_asc
SELECT id, make, model, year, color, CAST(price AS TEXT) AS price_text, mileage_km, vin, version,
       created_at, updated_at
  FROM cars
 WHERE (CAST(:make AS TEXT) IS NULL OR make = :make)
   AND (CAST(:model AS TEXT) IS NULL OR model = :model)
   AND (CAST(:year_min AS INTEGER) IS NULL OR year >= :year_min)
   AND (CAST(:year_max AS INTEGER) IS NULL OR year <= :year_max)
   AND (CAST(:price_min AS NUMERIC) IS NULL OR price >= :price_min)
   AND (CAST(:price_max AS NUMERIC) IS NULL OR price <= :price_max)
   AND (CAST(:after_id AS BIGINT) IS NULL OR (created_at, id) > (:after_key, :after_id))
 ORDER BY created_at, id
 LIMIT :limit;

-- name: list_cars_by_created_at_desc
SELECT id, make, model, year, color, CAST(price AS TEXT) AS price_text, mileage_km, vin, version,
       created_at, updated_at
  FROM cars
 WHERE (CAST(:make AS TEXT) IS NULL OR make = :make)
   AND (CAST(:model AS TEXT) IS NULL OR model = :model)
   AND (CAST(:year_min AS INTEGER) IS NULL OR year >= :year_min)
   AND (CAST(:year_max AS INTEGER) IS NULL OR year <= :year_max)
   AND (CAST(:price_min AS NUMERIC) IS NULL OR price >= :price_min)
   AND (CAST(:price_max AS NUMERIC) IS NULL OR price <= :price_max)
   AND (CAST(:after_id AS BIGINT) IS NULL OR (created_at, id) < (:after_key, :after_id))
 ORDER BY created_at DESC, id DESC
 LIMIT :limit;
