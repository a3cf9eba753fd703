-- Person resolution: which mentions are one person, and how sure we are.

-- The current person of every mention (every mention has one, unlinkable ones their own).
CREATE TABLE IF NOT EXISTS person_mentions (
    mention_id        VARCHAR PRIMARY KEY,
    person_id         VARCHAR NOT NULL,
    link_probability  DOUBLE,           -- the probability of the link that tied it in; NULL for a singleton
    confirmed         BOOLEAN NOT NULL DEFAULT FALSE  -- a person decided it ('same')
);

CREATE TABLE IF NOT EXISTS persons (
    person_id     VARCHAR PRIMARY KEY,
    status        VARCHAR NOT NULL,     -- 'active' or 'merged'
    merged_into   VARCHAR,              -- for a merged id: the id that survived
    created_at    TIMESTAMP NOT NULL,
    created_by_run VARCHAR
);
