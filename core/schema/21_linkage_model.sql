-- Linkage model: the trained Splink model and the scored pairs it produced.

-- Trained Splink models, newest last. A run reuses the newest one; `intel link --retrain` adds another.
CREATE TABLE IF NOT EXISTS linkage_models (
    model_id        VARCHAR PRIMARY KEY,   -- 'M' + training timestamp + short hash of the model JSON
    trained_at      TIMESTAMP NOT NULL,
    fingerprint     VARCHAR NOT NULL,      -- of the mentions it was trained on (count and content hash)
    splink_version  VARCHAR NOT NULL,      -- a model is only loaded by the Splink version that wrote it
    model_json      VARCHAR NOT NULL,      -- Splink's settings JSON with trained m/u (dialect-specific SQL)
    mentions        BIGINT NOT NULL,       -- how many mentions it was trained on
    training        VARCHAR                -- JSON: what training did (prior, sessions, timings)
);

-- Scored candidate pairs at or above the edge floor ([linkage] edge_floor). mention_a < mention_b.
CREATE TABLE IF NOT EXISTS link_edges (
    mention_a          VARCHAR NOT NULL,
    mention_b          VARCHAR NOT NULL,
    match_probability  DOUBLE NOT NULL,
    match_weight       DOUBLE NOT NULL,
    model_id           VARCHAR NOT NULL,
    scored_at          TIMESTAMP NOT NULL
    -- no PRIMARY KEY: DuckDB's over-eager key checks refuse delete-then-reinsert of a pair in one
    -- transaction (what incremental scoring does); scoring guarantees one row per pair instead.
);
