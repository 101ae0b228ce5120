"""The SQL that api.database runs, as aiosql reads it: named queries in ``cars.sql``."""
