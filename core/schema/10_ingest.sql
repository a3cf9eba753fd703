-- Ingest: what the agencies sent, with provenance. Raw values are kept beside normalised ones.

CREATE TABLE IF NOT EXISTS drops (
    drop_id      VARCHAR PRIMARY KEY,   -- content hash of the drop's files (stable for a re-sent drop)
    path         VARCHAR NOT NULL,
    extract_date DATE,
    ingested_at  TIMESTAMP NOT NULL,
    run_id       VARCHAR                -- the nightly run that ingested it, if any
);

CREATE TABLE IF NOT EXISTS ingested_files (
    sha256       VARCHAR PRIMARY KEY,   -- a file with a known sha256 is skipped, not loaded twice
    drop_id      VARCHAR NOT NULL,
    file_name    VARCHAR NOT NULL,
    source       VARCHAR NOT NULL,
    rows_read    BIGINT NOT NULL,
    rows_loaded  BIGINT NOT NULL,
    rows_rejected BIGINT NOT NULL,
    mapping      VARCHAR,               -- the agency mapping profile applied, if any
    ingested_at  TIMESTAMP NOT NULL
);

-- One row per person in an event: the current version of each (source, record_id).
CREATE TABLE IF NOT EXISTS mentions (
    mention_id        VARCHAR PRIMARY KEY,  -- 'source:record_id', the key used everywhere else
    source            VARCHAR NOT NULL,
    record_id         VARCHAR NOT NULL,
    event_key         VARCHAR NOT NULL,     -- 'source:event_id'
    event_id          VARCHAR NOT NULL,
    event_date        TIMESTAMP NOT NULL,
    role              VARCHAR NOT NULL,
    event_type        VARCHAR NOT NULL,
    person_ref        VARCHAR,
    -- normalised identifiers (lower case ascii, punctuation stripped; postcodes 'AA9 9AA')
    forename          VARCHAR,
    middle_names      VARCHAR,
    surname           VARCHAR,
    dob               DATE,
    sex               VARCHAR,
    address           VARCHAR,
    postcode          VARCHAR,
    uprn              VARCHAR,
    borough           VARCHAR,
    restriction       VARCHAR NOT NULL,
    household_key     VARCHAR,              -- 'uprn:N' or 'addr:<address>|<postcode>'; NULL when unknown
    -- as sent
    forename_raw      VARCHAR,
    middle_names_raw  VARCHAR,
    surname_raw       VARCHAR,
    dob_raw           VARCHAR,
    sex_raw           VARCHAR,
    address_raw       VARCHAR,
    postcode_raw      VARCHAR,
    event_date_raw    VARCHAR,
    -- provenance
    drop_id           VARCHAR NOT NULL,
    file_name         VARCHAR NOT NULL,
    file_sha256       VARCHAR NOT NULL,
    row_number        BIGINT NOT NULL,      -- 1-based data row in the file (header excluded)
    ingested_at       TIMESTAMP NOT NULL,
    version           INTEGER NOT NULL      -- 1 for the first version, +1 each time it is re-sent
);

-- Earlier versions of re-sent mentions, exactly as they were before being replaced.
CREATE TABLE IF NOT EXISTS mentions_history AS SELECT *, NULL::TIMESTAMP AS replaced_at, NULL::VARCHAR AS replaced_by_drop FROM mentions WITH NO DATA;

-- One row per event per source: its type, date and the source-specific fields.
CREATE TABLE IF NOT EXISTS events (
    event_key             VARCHAR PRIMARY KEY,  -- 'source:event_id'
    source                VARCHAR NOT NULL,
    event_id              VARCHAR NOT NULL,
    event_type            VARCHAR NOT NULL,
    event_date            TIMESTAMP NOT NULL,
    dash_risk             VARCHAR,
    location_postcode     VARCHAR,
    location_uprn         VARCHAR,
    referral_source       VARCHAR,
    initial_rag           VARCHAR,
    final_rag             VARCHAR,
    decision_date         TIMESTAMP,
    outcome               VARCHAR,
    presentation          VARCHAR,
    safeguarding_concern  BOOLEAN,
    drop_id               VARCHAR NOT NULL,
    file_name             VARCHAR NOT NULL,
    file_sha256           VARCHAR NOT NULL,
    row_number            BIGINT NOT NULL,
    ingested_at           TIMESTAMP NOT NULL
);

-- Rows that broke a rule: kept with the reason, never silently dropped.
CREATE TABLE IF NOT EXISTS quarantine (
    drop_id      VARCHAR NOT NULL,
    file_name    VARCHAR NOT NULL,
    file_sha256  VARCHAR NOT NULL,
    row_number   BIGINT NOT NULL,
    column_name  VARCHAR,
    reason       VARCHAR NOT NULL,
    raw_row      VARCHAR,               -- the row as sent, JSON
    ingested_at  TIMESTAMP NOT NULL
);
