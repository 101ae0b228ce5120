-- The cars table (SQLite). The PostgreSQL twin is 0001_create_cars.postgresql.sql: keep them in step.
-- AUTOINCREMENT: ids are never reused, so an ETag never matches a different car.
-- Timestamps are ISO 8601 UTC text with microseconds, which sorts like time.
CREATE TABLE cars (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    make TEXT NOT NULL,
    model TEXT NOT NULL,
    year INTEGER NOT NULL,
    color TEXT,
    price NUMERIC NOT NULL CHECK (price >= 0),
    mileage_km INTEGER NOT NULL CHECK (mileage_km >= 0),
    vin TEXT UNIQUE,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE INDEX cars_price_id ON cars (price, id);
CREATE INDEX cars_year_id ON cars (year, id);
CREATE INDEX cars_created_at_id ON cars (created_at, id);
CREATE INDEX cars_make_model ON cars (make, model);
