-- Person identity: the log of every combination, people's judgements, and what was linked.

-- Every create / merge / split / move / attach of person ids. This is the log of "combination"
-- (Data Protection Act 2018): who or which run decided it, why, and which mentions moved.
-- action:  create  a new person_id was issued for mentions that had none
--          attach  new mentions joined an existing person
--          merge   person_id was merged into related_person_id (the older one, which survives)
--          split   person_id was newly issued for mentions taken from related_person_id
--          move    mentions moved from related_person_id to an existing person_id
CREATE TABLE IF NOT EXISTS person_history (
    history_id         BIGINT PRIMARY KEY,   -- increasing: the order things happened in
    happened_at        TIMESTAMP NOT NULL,
    action             VARCHAR NOT NULL,
    person_id          VARCHAR NOT NULL,
    related_person_id  VARCHAR,
    mention_ids        VARCHAR[] NOT NULL,   -- the mentions moved / attached / created
    run_id             VARCHAR,              -- the link run that did it, or NULL for a decision
    decided_by         VARCHAR,              -- the person whose decision caused it, if any
    reason             VARCHAR               -- why (the decision's reason, or the run's mode)
);

-- People's judgements about two mentions. Append-only: never updated or deleted; inputs to every
-- later clustering ('same' always holds, 'different' is never overruled).
CREATE TABLE IF NOT EXISTS link_decisions (
    decision_id  BIGINT PRIMARY KEY,
    mention_a    VARCHAR NOT NULL,   -- mention_a < mention_b
    mention_b    VARCHAR NOT NULL,
    decision     VARCHAR NOT NULL,   -- 'same' or 'different'
    decided_by   VARCHAR NOT NULL,
    reason       VARCHAR NOT NULL,
    decided_at   TIMESTAMP NOT NULL
);

-- Which version of each mention the last link run scored and clustered.
CREATE TABLE IF NOT EXISTS linked_mentions (
    mention_id  VARCHAR PRIMARY KEY,
    version     INTEGER NOT NULL,
    run_id      VARCHAR NOT NULL,
    linked_at   TIMESTAMP NOT NULL
);

-- One row per link run: its mode and its report (JSON).
CREATE TABLE IF NOT EXISTS link_runs (
    run_id       VARCHAR PRIMARY KEY,
    mode         VARCHAR NOT NULL,     -- 'full' or 'incremental'
    started_at   TIMESTAMP NOT NULL,
    finished_at  TIMESTAMP NOT NULL,
    threshold    DOUBLE NOT NULL,
    model_id     VARCHAR,
    report       VARCHAR NOT NULL
);

-- The links the last one-to-one link run accepted (linkage/one_to_one.py), so that a decision
-- reclustering some persons afterwards keeps the assignment. Emptied by a run in the default mode.
CREATE TABLE IF NOT EXISTS link_one_to_one (
    source_a          VARCHAR NOT NULL,
    source_b          VARCHAR NOT NULL,
    mention_a         VARCHAR NOT NULL,
    mention_b         VARCHAR NOT NULL,
    match_probability DOUBLE NOT NULL,
    run_id            VARCHAR NOT NULL
);

-- Person ids issued before schema version 2 (``P`` + 8 digits, the form police record ids also
-- have) and the id each became when core/migrations.py rewrote the store (``MI-`` + the same
-- 8 digits + a check letter, core/person_ids.py). Old ids stay in the audit log, which is never
-- rewritten, and in people's notes: linkage.identity.resolve_person_id follows them through here.
CREATE TABLE IF NOT EXISTS person_id_aliases (
    old_id       VARCHAR PRIMARY KEY,
    person_id    VARCHAR NOT NULL,      -- the id it became (merges since are followed from there)
    migrated_at  TIMESTAMP NOT NULL
);
