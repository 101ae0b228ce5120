-- The cars table (PostgreSQL). The SQLite twin is 0001_create_cars.sqlite.sql: keep them in step.
-- version counts updates: the ETag is derived from (id, version).
CREATE TABLE cars (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    make TEXT NOT NULL,
    model TEXT NOT NULL,
    year INTEGER NOT NULL,
    color TEXT,
    price NUMERIC(12, 2) NOT NULL CHECK (price >= 0),
    mileage_km BIGINT NOT NULL CHECK (mileage_km >= 0),
    vin TEXT UNIQUE,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- One index per sort order the list endpoint offers (keyset pagination walks them).
CREATE INDEX cars_price_id ON cars (price, id);
CREATE INDEX cars_year_id ON cars (year, id);
CREATE INDEX cars_created_at_id ON cars (created_at, id);
CREATE INDEX cars_make_model ON cars (make, model);
