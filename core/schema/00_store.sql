-- The store's identity (core/store.py): which project made it and the schema version it holds.
-- Every command but `intel init` and `intel ingest --create` refuses a path whose file is not a
-- store with this row (a CSV, another DuckDB database, a store of a newer schema).
CREATE TABLE IF NOT EXISTS store_meta (
    project         VARCHAR NOT NULL,    -- 'mash-intel'
    schema_version  INTEGER NOT NULL,
    created_at      TIMESTAMP NOT NULL
);
