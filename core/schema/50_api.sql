-- API: users and the audit log (access/users.py, access/audit.py, api/).

-- One row per user ever created. Only a SHA-256 of the token is kept; a revoked user keeps its
-- row (revoked_at set) so the audit log always names a known user.
CREATE TABLE IF NOT EXISTS users (
    name          VARCHAR NOT NULL,
    role          VARCHAR NOT NULL,      -- analyst | marac | admin
    token_sha256  VARCHAR NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    created_by    VARCHAR,
    revoked_at    TIMESTAMP,
    revoked_by    VARCHAR
);
-- when the token stops working ([api] token_days after it was issued; `intel users rotate` issues
-- a new one). NULL: issued before expiry was recorded, so created_at + token_days.
ALTER TABLE users ADD COLUMN IF NOT EXISTS expires_at TIMESTAMP;

-- Append-only: who read or changed what, when, why, and what they got. Nothing updates or
-- deletes it (the API has no route to). Each entry carries the MAC of the one before it and its
-- own, keyed by a secret outside the store, so a changed, removed or rewritten entry breaks the
-- chain, and an anchor file outside the store holds its head (`intel audit --verify`, docs/audit.md).
CREATE TABLE IF NOT EXISTS audit_log (
    seq           BIGINT NOT NULL,       -- 1, 2, 3 ... in the order written
    logged_at     TIMESTAMP NOT NULL,    -- UTC
    user_name     VARCHAR,
    role          VARCHAR,
    method        VARCHAR NOT NULL,
    endpoint      VARCHAR NOT NULL,      -- the route template, e.g. /persons/{person_id}/chronology
    path          VARCHAR NOT NULL,      -- the path and query asked for
    subject_kind  VARCHAR,               -- person | household | alert | mention_pair | run | user
    subject_id    VARCHAR,
    purpose       VARCHAR,
    status        INTEGER NOT NULL,      -- the response status
    detail        VARCHAR,               -- JSON: resolved ids, filters, counts
    prev_hash     VARCHAR NOT NULL,
    entry_hash    VARCHAR NOT NULL       -- HMAC-SHA256 (key: key_id) of prev_hash and the fields
);
-- which key of the audit key file MACed the entry (access/audit_chain.py); NULL: written before
-- the chain was keyed (a plain SHA-256, reported as unkeyed by `intel audit --verify`)
ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS key_id VARCHAR;

-- Link decisions made through the API while a nightly run holds the identity tables: queued
-- (append-only) and applied by the server when the run ends, in order. The outcome of each is
-- appended to api_decision_outcomes; linkage.decisions.decide does the work.
CREATE TABLE IF NOT EXISTS api_queued_decisions (
    queue_id    VARCHAR NOT NULL,
    queued_at   TIMESTAMP NOT NULL,
    mention_a   VARCHAR NOT NULL,
    mention_b   VARCHAR NOT NULL,
    decision    VARCHAR NOT NULL,
    decided_by  VARCHAR NOT NULL,
    reason      VARCHAR NOT NULL,
    during_run  VARCHAR
);

CREATE TABLE IF NOT EXISTS api_decision_outcomes (
    queue_id     VARCHAR NOT NULL,
    applied_at   TIMESTAMP NOT NULL,
    outcome      VARCHAR NOT NULL,       -- applied | refused
    decision_id  BIGINT,
    error        VARCHAR
);

-- Person search's index (views/search.py refresh_index): every mention's search identifiers and
-- person, ordered by surname; rebuilt by the API after each run and decision. Used only while
-- its stamp matches the store (otherwise search reads the live tables).
CREATE TABLE IF NOT EXISTS search_index (
    person_id   VARCHAR,
    mention_id  VARCHAR,
    forename    VARCHAR,
    surname     VARCHAR,
    dob         DATE,
    postcode    VARCHAR
);
CREATE TABLE IF NOT EXISTS search_index_meta (
    stamp     VARCHAR NOT NULL,
    built_at  TIMESTAMP NOT NULL
);
