-- PostgreSQL's own version of a statement of cars.sql (api.database loads it instead there).

-- name: insert_car
-- Every car insert (POST, and the rows of POST /v1/cars:batch), through the InsertBatcher. With
-- an idempotency key (:claim set), the car is inserted only while this request still holds the
-- key's claim (the key's row locked meanwhile), and the key's outcome (201, the car's id and row)
-- is written by the same statement, so in the same transaction: a car never exists without it.
-- Without a key (:claim NULL) it is the plain insert. Always exactly one row (NULLs when the claim
-- was lost): the batcher pairs each row sent with one row back.
WITH claimed AS (
    SELECT claim
      FROM idempotency_keys
     WHERE principal = :principal AND idempotency_key = :idempotency_key AND claim = :claim
       AND status IS NULL
       FOR UPDATE
), car AS (
    INSERT INTO cars (make, model, year, color, price, mileage_km, vin, version, created_at,
                      updated_at)
    SELECT CAST(:make AS TEXT), CAST(:model AS TEXT), CAST(:year AS INTEGER),
           CAST(:color AS TEXT), CAST(:price AS NUMERIC), CAST(:mileage_km AS BIGINT),
           CAST(:vin AS TEXT), 1, CAST(:now AS TIMESTAMPTZ), CAST(:now AS TIMESTAMPTZ)
     WHERE CAST(:claim AS TEXT) IS NULL OR EXISTS (SELECT 1 FROM claimed)
    RETURNING id, make, model, year, color, CAST(price AS TEXT) AS price_text, mileage_km, vin,
              version, created_at, updated_at
), recorded AS (
    UPDATE idempotency_keys
       SET status = 201, car_id = car.id,
           record = CAST(json_build_array(car.id, car.make, car.model, car.year, car.color,
                                          car.price_text, car.mileage_km, car.vin, car.version,
                                          car.created_at, car.updated_at) AS TEXT)
      FROM car
     WHERE principal = :principal AND idempotency_key = :idempotency_key AND claim = :claim
)
SELECT car.id, car.make, car.model, car.year, car.color, car.price_text, car.mileage_km, car.vin,
       car.version, car.created_at, car.updated_at
  FROM (VALUES (1)) AS one
  LEFT JOIN car ON TRUE;
