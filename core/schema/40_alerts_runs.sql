-- Alerts and nightly runs (findings/alerts.py, findings/runs.py).
--
-- Concurrency: the nightly run writes `alerts` (and `runs`) inside its one transaction; users
-- never update `alerts`. What users do to an alert (acknowledge, close) is APPENDED to
-- `alert_events`, which the run never updates or deletes, so a user's transaction never
-- conflicts with a run's. An alert's status is derived from its latest alert_event.

-- One row per raised alert. A finding raised again with new evidence is a new row whose
-- previous_alert_id names the earlier alert; an unchanged finding is never raised again.
CREATE TABLE IF NOT EXISTS alerts (
    alert_id          VARCHAR PRIMARY KEY,   -- 'A' + 7 digits, increasing
    alert_key         VARCHAR NOT NULL,      -- what it is about: the finding_key, or rule:subject
    rule              VARCHAR NOT NULL,
    person_id         VARCHAR,               -- the subject; kept on the surviving id after merges/splits
    person_ids        VARCHAR[],             -- every current person holding the subject's evidence
    household_key     VARCHAR,
    severity          VARCHAR NOT NULL,      -- 'low' | 'medium' | 'high'
    raised_at         TIMESTAMP NOT NULL,
    run_id            VARCHAR,
    explanation       VARCHAR NOT NULL,
    evidence          VARCHAR NOT NULL,      -- JSON: event_keys, mention_ids ('source:record_id'), ...
    evidence_items    VARCHAR[] NOT NULL,    -- the event keys and mention ids, for dedupe
    subject_mentions  VARCHAR[],             -- the subject person's own mentions in the evidence
    first_date        DATE,
    last_date         DATE,
    finding_key       VARCHAR,               -- the analytics finding it came from, if any
    previous_alert_id VARCHAR                -- the earlier alert on the same finding, if raised again
);

-- The triaged queue (findings/alert_raising.py): at most one open alert per person per rule,
-- updated in place (its history in `updates`) when new evidence arrives.
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS score DOUBLE;          -- how far past its rule's threshold
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS baseline BOOLEAN;      -- raised by the store's first load
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS updated_at TIMESTAMP;  -- the last run that added evidence
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS updates VARCHAR;       -- JSON list: at, run_id, added, before

-- Append-only: what people did to alerts. Never updated or deleted.
CREATE TABLE IF NOT EXISTS alert_events (
    action_id  VARCHAR NOT NULL,            -- uuid (no sequence: concurrent inserts never collide)
    alert_id   VARCHAR NOT NULL,
    action     VARCHAR NOT NULL,            -- 'acknowledge' | 'close'
    status     VARCHAR NOT NULL,            -- the status it leads to: 'acknowledged' | 'closed'
    by_name    VARCHAR NOT NULL,
    reason     VARCHAR NOT NULL,
    acted_at   TIMESTAMP NOT NULL
);

-- One row per nightly run. Inserted 'running' (committed at once, so a monitor can see it);
-- set 'completed' inside the run's transaction (with all its results), or 'failed' after a
-- rollback. A row left 'running' by a killed run is marked 'abandoned' by the next run.
CREATE TABLE IF NOT EXISTS runs (
    run_id       VARCHAR PRIMARY KEY,
    drop_path    VARCHAR,
    status       VARCHAR NOT NULL,          -- running | completed | failed | abandoned
    started_at   TIMESTAMP NOT NULL,
    finished_at  TIMESTAMP,
    pid          INTEGER,
    host         VARCHAR,
    report       VARCHAR,                   -- JSON run report
    error        VARCHAR
);

-- Chronology lookups (views/chronology.py) go person_id -> mention_id -> event_key / household_key
-- by index, never scanning the big tables: a chronology on a 1M-mention store in tens of ms.
CREATE INDEX IF NOT EXISTS idx_person_mentions_person ON person_mentions (person_id);
CREATE INDEX IF NOT EXISTS idx_mentions_event_key ON mentions (event_key);
CREATE INDEX IF NOT EXISTS idx_mentions_household ON mentions (household_key);
