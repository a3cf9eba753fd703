-- Analytics: what the rules found (findings/analytics.py over graphs/). Rewritten whole by each run.

-- One row per finding: the reason in plain English and the evidence it rests on. No risk score.
CREATE TABLE IF NOT EXISTS findings (
    finding_key    VARCHAR PRIMARY KEY,  -- stable across nights: 'rule:person_id', 'rule:household:<key>', 'networks:<smallest member>'
    rule           VARCHAR NOT NULL,     -- repeat_victim, harm_proximity, victim_offender_overlap, serial_perpetrator, escalation, networks
    subject        VARCHAR NOT NULL,     -- person, child, household, group
    person_id      VARCHAR,              -- the person it is about (for a group: its smallest member id)
    household_key  VARCHAR,              -- the household it is about (household escalation)
    first_date     DATE,
    last_date      DATE,
    measure        BIGINT,               -- the rule's count (events, households, victims, members)
    threshold      BIGINT,               -- the count the rule needs
    severity       VARCHAR NOT NULL,     -- high / medium / low (graphs.pipeline docstring)
    explanation    VARCHAR NOT NULL,     -- the reason, plain English
    evidence       VARCHAR NOT NULL,     -- JSON: events (event_keys), mention_ids, households, persons, sources, rule details
    evidence_hash  VARCHAR NOT NULL,     -- changes only when the evidence changes
    computed_at    TIMESTAMP NOT NULL
);

-- Notification counts over the 12 months to the latest event, per person and per household.
CREATE TABLE IF NOT EXISTS notification_counts (
    subject_kind        VARCHAR NOT NULL,  -- person / household
    subject_key         VARCHAR NOT NULL,
    window_start        DATE NOT NULL,
    window_end          DATE NOT NULL,
    notifications       BIGINT NOT NULL,   -- distinct events
    harm_notifications  BIGINT NOT NULL,   -- distinct events in which the subject (a household: a person there) was harmed
    police              BIGINT NOT NULL,
    social_care         BIGINT NOT NULL,
    health              BIGINT NOT NULL,
    computed_at         TIMESTAMP NOT NULL
);

-- One key per home: an address-keyed household_key and the key analytics used for it
-- (graphs.households.resolve_household_keys). Rewritten by each analytics run.
CREATE TABLE IF NOT EXISTS household_aliases (
    household_key  VARCHAR PRIMARY KEY,  -- as ingest made it
    canonical_key  VARCHAR NOT NULL,     -- as analytics and network views use it
    computed_at    TIMESTAMP NOT NULL
);

-- The resolved mentions as the last analytics run saw them (person, one-key-per-home household,
-- harm and offender flags), ordered by person: what network views read, fast. Rewritten by each run.
CREATE TABLE IF NOT EXISTS network_mentions (
    mention_id     VARCHAR NOT NULL,
    person_id      VARCHAR NOT NULL,
    event_key      VARCHAR NOT NULL,
    source         VARCHAR NOT NULL,
    event_type     VARCHAR NOT NULL,
    role           VARCHAR NOT NULL,
    date           DATE NOT NULL,
    household_key  VARCHAR,
    dob            DATE,
    forename       VARCHAR,
    surname        VARCHAR,
    harmed         BOOLEAN NOT NULL,
    offender       BOOLEAN NOT NULL,
    severity       INTEGER
);

-- Who is in each event, and who was recorded at each household: the network views' lookups.
CREATE TABLE IF NOT EXISTS network_event_people (event_key VARCHAR NOT NULL, person_id VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS network_household_people (household_key VARCHAR NOT NULL, person_id VARCHAR NOT NULL);
CREATE INDEX IF NOT EXISTS network_mentions_person ON network_mentions (person_id);
CREATE INDEX IF NOT EXISTS network_event_people_event ON network_event_people (event_key);
CREATE INDEX IF NOT EXISTS network_household_people_household ON network_household_people (household_key);

-- Each mention's dwelling (findings/dwellings.py over graphs/dwellings.py): one key per house,
-- whatever each agency wrote. Rewritten by each analytics run; readers fall back to the sent
-- household_key for a mention it has not placed yet.
CREATE TABLE IF NOT EXISTS mention_dwellings (
    mention_id     VARCHAR PRIMARY KEY,
    dwelling_key   VARCHAR               -- 'uprn:N' or 'addr:<postcode>|<numbers>|<street word>'; NULL: no dwelling
);
