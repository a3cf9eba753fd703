-- Encoded (privacy-preserving) linkage: whether the store holds clear or encoded identifiers,
-- and the encodings of each current mention (docs/encoded-extracts.md, docs/threat-model.md).

-- One row once the first drop is ingested: 'clear' or 'encoded' (with the key's fingerprint).
-- A store is one or the other for good; a drop of the other kind, or encoded with another key,
-- is refused.
CREATE TABLE IF NOT EXISTS store_encoding (
    mode            VARCHAR NOT NULL,       -- 'clear' or 'encoded'
    scheme          VARCHAR,                -- 'mash-intel-pprl/1' when encoded
    key_fingerprint VARCHAR,                -- HMAC of a fixed label under the linkage key
    declaration     VARCHAR,                -- the manifest's encoding object (JSON) of the first drop
    set_at          TIMESTAMP NOT NULL,
    drop_id         VARCHAR NOT NULL
);

-- The encodings of the current version of each mention of an encoded store (a re-sent record
-- replaces its row). Bloom filters as BLOB (l/8 bytes), keyed tokens as 16 hex digits.
CREATE TABLE IF NOT EXISTS mention_encodings (
    mention_id          VARCHAR PRIMARY KEY,
    source              VARCHAR NOT NULL,
    enc_forename        BLOB,
    enc_middle_names    BLOB,
    enc_surname         BLOB,
    enc_dob             BLOB,
    enc_dob_year        BLOB,
    enc_address         BLOB,
    enc_postcode        BLOB,
    tok_forename        VARCHAR,
    tok_surname         VARCHAR,
    tok_forename_sx     VARCHAR,
    tok_surname_sx      VARCHAR,
    tok_dob             VARCHAR,
    tok_dob_year        VARCHAR,
    tok_dob_month       VARCHAR,
    tok_dob_day         VARCHAR,
    tok_postcode        VARCHAR,
    tok_postcode_sector VARCHAR,
    tok_address         VARCHAR,
    tok_address_number  VARCHAR,
    tok_uprn            VARCHAR,
    tok_person_ref      VARCHAR,
    tok_household       VARCHAR,
    tok_address_sig     VARCHAR,
    tok_forename_initial VARCHAR,
    tok_surname_initial VARCHAR,
    postcode_district   VARCHAR,
    drop_id             VARCHAR NOT NULL
);
