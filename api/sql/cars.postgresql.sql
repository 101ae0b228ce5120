-- PostgreSQL's own statements (api.database loads them there, beside cars.sql's).

-- name: insert_car_keyed
-- A car created under an idempotency key's claim (api.cars.idempotency), through its own
-- InsertBatcher: the car is inserted only while this request still holds the claim (the key's
-- row locked meanwhile), and the key's outcome (201, the car's id and row) is written by the same
-- statement, so in the same transaction: a car never exists without it. Always exactly one row
-- (NULLs when the claim was lost): the batcher pairs each row sent with one row back. Keyless
-- creates keep insert_car: a statement of this shape cost PostgreSQL about a third more per row
-- (140 us against 105 us, batches of 64, this machine), which keyless POSTs need not pay.
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
      FROM claimed
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
