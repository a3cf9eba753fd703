"""The linkage model's input, built from ``mentions`` in SQL.

``mentions`` already holds normalised names (lower-case ASCII, hyphens kept in surnames), a DATE
dob and canonical UK postcodes. This module derives what the comparisons and blocking rules need:

- ``forename_canon``: the formal form of a nickname (bill -> william) from ``linkage/data/nicknames.csv``;
  ``forename_aliases``: the forename with every formal form it may stand for (for the alias level);
- ``surname_parts``: the surname split on hyphens and spaces (smith-jones -> [smith, jones]);
- ``dob_year``, ``dob_month``, ``dob_day``;
- ``postcode`` (canonical, or the raw value stripped and upper-cased when it is not a UK postcode,
  e.g. a 4-digit Australian one), ``postcode_sector`` ('AB1 2'), ``postcode_district`` ('AB1');
- ``address_tokens``, ``uprn``, ``person_ref``;
- blocking keys: ``name_key`` (forename_canon and surname in sorted order, so swapped names block
  together), ``name_key_nodob`` (the same, on a record without a birth date whose name is rare)
  and ``initials_key`` (their initials, sorted); the capped keys of ``linkage.blocking.CAPPED_KEYS``
  (``name_key_by_year`` ...: the key, NULL where its block holds more identities than the cap).

Tables made here are TEMP tables on the store's connection: they never reach the store file.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import polars as pl

from core.store import Store
from core.store_mode import is_encoded
from linkage import encoded
from linkage.blocking import CAPPED_KEYS

NICKNAMES_CSV = Path(__file__).parent / "data" / "nicknames.csv"
NICKNAME_TABLE = "linkage_nicknames"
FEATURES_TABLE = "linkage_features"
SOURCES = ("police", "social_care", "health")
# name_key_nodob is set only for names this rare (records holding the name): the name-only
# blocking rules (linkage/blocking.py) then compare a record without a dob with at most this many
# others, so they grow with the records missing a dob, not with the square of a common name.
NAME_ONLY_MAX_BLOCK = 20

# The columns the model reads (besides mention_id): the contract between features and model.
FEATURE_COLUMNS = (
    "mention_id", "source", "person_ref",
    "forename", "forename_canon", "forename_aliases", "surname", "surname_parts",
    "name_key", "name_key_nodob", "initials_key",
    "dob", "dob_year", "dob_month", "dob_day", "sex",
    "postcode", "postcode_sector", "postcode_district",
    "address", "address_tokens", "address_number", "uprn",
    *CAPPED_KEYS,
)


@lru_cache(maxsize=1)
def nickname_pairs() -> tuple[tuple[str, str], ...]:
    """(name, canonical) pairs from the shipped table (comment lines start with '#')."""
    pairs = []
    with NICKNAMES_CSV.open(encoding="utf-8") as fh:
        rows = csv.reader(line for line in fh if not line.startswith("#"))
        header = next(rows)
        if header != ["name", "canonical"]:
            raise ValueError(f"{NICKNAMES_CSV}: header must be name,canonical, got {header}")
        for row in rows:
            if len(row) == 2 and row[0].strip() and row[1].strip():
                pairs.append((row[0].strip().lower(), row[1].strip().lower()))
    return tuple(pairs)


def canonical_forename(name: str | None) -> str | None:
    """The formal form of a forename (the alphabetically first when a nickname has several).

    The Python twin of the SQL below, for tests and callers outside SQL.
    """
    if name is None or name == "":
        return None
    forms = sorted(c for n, c in nickname_pairs() if n == name)
    return forms[0] if forms else name


def register_nicknames(store: Store) -> None:
    """Load the nickname table into a TEMP table on the store's connection (idempotent)."""
    pairs = nickname_pairs()
    sql(store,
        f"CREATE OR REPLACE TEMP TABLE {NICKNAME_TABLE} AS "
        "SELECT name, min(canonical) AS canon, list(DISTINCT canonical ORDER BY canonical) AS canons "
        "FROM (SELECT unnest(?::VARCHAR[]) AS name, unnest(?::VARCHAR[]) AS canonical) GROUP BY name",
        [[p[0] for p in pairs], [p[1] for p in pairs]])


def sql(store: Store, statement: str, params: list | None = None) -> list[tuple]:
    """Run a statement on the store's connection and fetch its result to the end (DuckDB refuses
    to register a table while a result is still pending)."""
    return store.connection.execute(statement, params).fetchall()


def scalar(store: Store, statement: str, params: list | None = None):
    rows = sql(store, statement, params)
    return rows[0][0] if rows else None


def ids_table(store: Store, name: str, mention_ids: Sequence[str]) -> None:
    """A TEMP table ``name(mention_id)`` holding the given ids."""
    sql(store, f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT DISTINCT unnest(?::VARCHAR[]) AS mention_id",
        [list(mention_ids)])


def features_sql(where: str = "") -> str:
    """SELECT producing the feature columns from ``mentions m`` (optionally filtered: ``where``
    on the result, so block sizes are counted over all mentions)."""
    return f"""
    WITH m AS (
        SELECT mention_id, source, person_ref, dob, sex, uprn, postcode_raw,
               nullif(trim(forename), '') AS forename,
               nullif(trim(surname), '') AS surname,
               nullif(trim(address), '') AS address,
               nullif(trim(postcode), '') AS postcode
        FROM mentions
    ),
    f AS (
        SELECT m.*,
               coalesce(n.canon, m.forename) AS forename_canon,
               CASE WHEN m.forename IS NULL THEN NULL
                    ELSE list_distinct(list_concat([m.forename], coalesce(n.canons, []::VARCHAR[]))) END
                   AS forename_aliases
        FROM m LEFT JOIN {NICKNAME_TABLE} n ON n.name = m.forename
    )
    , g AS (
    SELECT
        mention_id,
        source,
        nullif(trim(person_ref), '') AS person_ref,
        forename,
        forename_canon,
        forename_aliases,
        surname,
        CASE WHEN surname IS NULL THEN NULL
             ELSE list_filter(string_split_regex(surname, '[- ]+'), lambda x: x <> '') END AS surname_parts,
        CASE WHEN forename_canon IS NULL OR surname IS NULL THEN NULL
             ELSE least(forename_canon, surname) || '|' || greatest(forename_canon, surname) END AS name_key,
        -- a record without a birth date, its name_key when that name is rare (at most
        -- NAME_ONLY_MAX_BLOCK records of the table hold it): the name-only blocking rules
        CASE WHEN dob IS NULL AND forename_canon IS NOT NULL AND surname IS NOT NULL
                  AND count(*) OVER (PARTITION BY least(forename_canon, surname) || '|'
                                                  || greatest(forename_canon, surname)) <= {NAME_ONLY_MAX_BLOCK}
             THEN least(forename_canon, surname) || '|' || greatest(forename_canon, surname) END AS name_key_nodob,
        CASE WHEN forename_canon IS NULL OR surname IS NULL THEN NULL
             ELSE least(left(forename_canon, 1), left(surname, 1))
                  || greatest(left(forename_canon, 1), left(surname, 1)) END AS initials_key,
        dob,
        year(dob)::INTEGER AS dob_year,
        month(dob)::INTEGER AS dob_month,
        day(dob)::INTEGER AS dob_day,
        CASE WHEN sex IN ('M', 'F') THEN sex END AS sex,
        coalesce(postcode, nullif(upper(regexp_replace(coalesce(postcode_raw, ''), '[^A-Za-z0-9]', '', 'g')), ''))
            AS postcode,
        CASE WHEN postcode IS NOT NULL THEN left(postcode, length(postcode) - 2) END AS postcode_sector,
        CASE WHEN postcode IS NOT NULL THEN split_part(postcode, ' ', 1) END AS postcode_district,
        address,
        CASE WHEN address IS NULL THEN NULL
             ELSE list_distinct(list_filter(string_split(address, ' '), lambda x: x <> '')) END AS address_tokens,
        nullif(regexp_extract(address, '^\\S*[0-9]\\S*'), '') AS address_number,
        nullif(trim(uprn), '') AS uprn
    FROM f
    )
    {_capped_keys_sql(where)}
    """


def _capped_keys_sql(where: str) -> str:
    """The tail of ``features_sql``: the capped blocking keys (linkage/blocking.py CAPPED_KEYS),
    each its key or NULL where the key's block holds more identities (distinct forename_canon,
    surname, dob) than the cap. A block is named by the hash of its parts and counted by a GROUP
    BY (a third of the time of a window per key); every count here, and the windows above, run
    over all mentions, so a record's keys do not depend on which records are asked for (``where``
    filters the result)."""
    cols = list(CAPPED_KEYS)
    hashed = ", ".join(f"hash({', '.join(block)}) AS _h_{c}" for c, (_k, block, _cap) in CAPPED_KEYS.items())
    over = "".join(f", _over_{c} AS (SELECT _h_{c} AS h FROM h GROUP BY 1 HAVING count(DISTINCT _identity) > {cap})"
                   for c, (_k, _block, cap) in CAPPED_KEYS.items())
    keys = ", ".join(f"CASE WHEN _over_{c}.h IS NULL THEN h.{key} END AS {c}"
                     for c, (key, _block, _cap) in CAPPED_KEYS.items())
    joins = " ".join(f"LEFT JOIN _over_{c} ON _over_{c}.h = h._h_{c}" for c in cols)
    return (f", h AS (SELECT *, {hashed}, hash(forename_canon, surname, dob) AS _identity FROM g){over}\n"
            f"    SELECT h.* EXCLUDE (_identity, {', '.join(f'_h_{c}' for c in cols)}), {keys} FROM h {joins} {where}")


def build_features(store: Store, table: str = FEATURES_TABLE, mention_ids: Sequence[str] | None = None,
                   ordered: bool = False) -> int:
    """(Re)create TEMP table ``table`` with the features of all mentions (or of ``mention_ids``).

    Returns the number of rows.
    """
    register_nicknames(store)
    # an encoded store (docs/encoded-extracts.md) has tokens and filters instead of identifiers
    select = encoded.features_sql if is_encoded(store) else features_sql
    if mention_ids is None:
        # ordered for training (random sampling of u is then repeatable); scoring needs no order
        sql(store, f"CREATE OR REPLACE TEMP TABLE {table} AS {select()}"
            + (" ORDER BY mention_id" if ordered else ""))
    else:
        ids_table(store, "_linkage_feature_ids", mention_ids)
        try:
            sql(store, f"CREATE OR REPLACE TEMP TABLE {table} AS "
                f"{select('WHERE mention_id IN (SELECT mention_id FROM _linkage_feature_ids)')} ORDER BY mention_id")
        finally:
            sql(store, "DROP TABLE IF EXISTS _linkage_feature_ids")
    return int(scalar(store, f"SELECT count(*) FROM {table}"))


def source_views(store: Store, table: str = FEATURES_TABLE, prefix: str | None = None,
                 where: str = "", all_sources: bool = False) -> dict[str, str]:
    """One TEMP view per source present in ``table``: {source: view name}, sources in contract order.

    The model links the three agencies as separate inputs (``link_and_dedupe``), so each source
    is registered with Splink under its own name. ``all_sources`` makes a view for every contract
    source, empty where the table has none: Splink's SQL for one input lacks the
    ``source_dataset`` column the model's comparisons read, so a night's drop from one agency
    alone must still be presented as several inputs.
    """
    prefix = prefix or table
    present = {r[0] for r in sql(store, f"SELECT DISTINCT source FROM {table} {where}")}
    if all_sources:
        present |= set(SOURCES)
    ordered = [s for s in SOURCES if s in present] + sorted(present - set(SOURCES))
    views = {}
    for source in ordered:
        name = f"{prefix}_{source}"
        cond = f"source = '{source}'" + (f" AND ({where.removeprefix('WHERE ')})" if where else "")
        sql(store, f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM {table} WHERE {cond}")
        views[source] = name
    return views


def drop_temp(store: Store, names: Sequence[str]) -> None:
    """Drop TEMP tables or views made here (whichever each name is)."""
    for name in names:
        kind = scalar(store, 
            "SELECT 'VIEW' FROM duckdb_views() WHERE view_name = ? AND temporary "
            "UNION ALL SELECT 'TABLE' FROM duckdb_tables() WHERE table_name = ? AND temporary LIMIT 1",
            [name, name])
        if kind:
            sql(store, f"DROP {kind} IF EXISTS {name}")


def mentions_frame(rows: pl.DataFrame) -> pl.DataFrame:
    """Complete a frame of identifiers (source, record_id, forename, surname, dob, ...) into
    ``mentions`` rows, filling the NOT NULL event and provenance columns with placeholders.

    For tests and benchmarks that load data which has no events (FEBRL, historical_50k) before
    ``intel ingest`` is involved.
    """
    frame = rows.with_columns(
        (pl.col("source") + ":" + pl.col("record_id")).alias("mention_id"))
    n = frame.height
    extra = {
        # one event per record: records that share an event would be cannot-link pairs
        "event_id": "E" + pl.col("record_id"),
        "event_key": pl.col("source") + ":E" + pl.col("record_id"),
        "event_date": pl.lit(dt.datetime(2020, 1, 1)),
        "role": pl.lit("other"), "event_type": pl.lit("other"), "restriction": pl.lit("none"),
        "drop_id": pl.lit("synthetic"), "file_name": pl.lit("synthetic"), "file_sha256": pl.lit("0"),
        "row_number": pl.int_range(1, n + 1, dtype=pl.Int64),
        "ingested_at": pl.lit(dt.datetime(2020, 1, 1)), "version": pl.lit(1, dtype=pl.Int32),
    }
    return frame.with_columns(**{k: v for k, v in extra.items() if k not in frame.columns})
