"""Analytics, the I/O edge: read the resolved mentions from the store, run every rule
(graphs.pipeline over graphs.rules, pure), and rewrite the ``findings`` and
``notification_counts`` tables in one transaction.

The rules, their definitions and parameters: graphs/rules.py and core/defaults/30_analytics.toml.
How a person's household on a date is derived: graphs/households.py.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime
from collections.abc import Mapping
from typing import Any

import polars as pl

from findings.as_of import extract_date
from findings.dwellings import place_dwellings
from graphs.pipeline import RULES, compute_all
from core.errors import IntelError
from core.store import Store
from core.store_mode import is_encoded
import json

MENTIONS_SQL = """
SELECT m.mention_id, m.event_key, m.source, m.event_type, m.role, CAST(m.event_date AS DATE) AS date,
       coalesce(p.merged_into, pm.person_id) AS person_id, coalesce(md.dwelling_key, m.household_key) AS household_key,
       m.household_key AS household_key_sent, m.dob,
       m.address, m.postcode, m.uprn, m.forename_raw AS forename, m.surname_raw AS surname,
       e.dash_risk, e.initial_rag, e.final_rag, e.presentation, e.safeguarding_concern
FROM mentions m
JOIN person_mentions pm USING (mention_id)
LEFT JOIN persons p ON p.person_id = pm.person_id AND p.status = 'merged'
LEFT JOIN events e USING (event_key)
LEFT JOIN mention_dwellings md USING (mention_id)
"""

FINDINGS_COLUMNS = ("finding_key", "rule", "subject", "person_id", "household_key", "first_date", "last_date",
                    "measure", "threshold", "severity", "explanation", "evidence", "evidence_hash", "computed_at")


NETWORK_COLUMNS = ("mention_id", "person_id", "event_key", "source", "event_type", "role", "date", "household_key",
                   "dob", "forename", "surname", "harmed", "offender", "severity")


NETWORK_INDEXES = (
    "CREATE INDEX IF NOT EXISTS network_mentions_person ON network_mentions (person_id)",
    "CREATE INDEX IF NOT EXISTS network_event_people_event ON network_event_people (event_key)",
    "CREATE INDEX IF NOT EXISTS network_household_people_household ON network_household_people (household_key)",
)


# An encoded store (docs/encoded-extracts.md): the address signature and UPRN as keyed tokens,
# from which graphs/households.py resolves one key per home as it does from clear addresses.
ENCODED_MENTIONS_SQL = MENTIONS_SQL.replace(
    "m.address, m.postcode, m.uprn,", "m.address, m.postcode, x.tok_uprn AS uprn, x.tok_address_sig AS address_signature,"
).replace("LEFT JOIN events e USING (event_key)",
          "LEFT JOIN events e USING (event_key)\nLEFT JOIN mention_encodings x USING (mention_id)")


def mentions_frame(store: Store) -> pl.DataFrame:
    """Every mention that has a person, with its event's graded fields (the rules' input)."""
    return store.df(ENCODED_MENTIONS_SQL if is_encoded(store) else MENTIONS_SQL)


def run_analytics(store: Store, config: Mapping[str, Any]) -> dict[str, Any]:
    """Compute every enabled rule over the whole population and rewrite ``findings``.

    Returns ``{"findings": {rule: count}, "total", "severity": {label: count}, "mentions",
    "persons", "notification_counts", "computed_at", "timings": {step: seconds}}``.
    """
    t0 = time.perf_counter()
    c0 = time.process_time()
    dwellings = place_dwellings(store)
    frame = mentions_frame(store)
    t_read = time.perf_counter() - t0
    unlinked = store.rows("SELECT count(*) AS n FROM mentions m ANTI JOIN person_mentions pm USING (mention_id)")[0]["n"]
    if unlinked:
        print(f"analytics: {unlinked} mentions have no person yet (run linkage); they are left out", file=sys.stderr)
    # notification counts "over the 12 months" run to the extract date, not the clock
    result = compute_all(frame, config, as_of=extract_date(store, datetime.now()))
    findings: pl.DataFrame = result["findings"]
    computed_at = datetime.now().replace(microsecond=0)
    t1 = time.perf_counter()
    out = findings.with_columns(computed_at=pl.lit(computed_at)).select(FINDINGS_COLUMNS)
    nc = result["notification_counts"]
    with store.transaction():
        store.execute("DELETE FROM findings")
        store.insert_df("findings", out)
        store.execute("DELETE FROM notification_counts")
        if nc.height:
            store.insert_df("notification_counts", nc.with_columns(computed_at=pl.lit(computed_at)))
        # replaced whole (faster than deleting a million rows), same columns as the schema file
        store.register("_network_mentions", result["mentions"].select(NETWORK_COLUMNS).sort("person_id", "date"))
        try:
            store.execute("CREATE OR REPLACE TABLE network_mentions AS SELECT * FROM _network_mentions")
        finally:
            store.unregister("_network_mentions")
        store.execute("CREATE OR REPLACE TABLE network_event_people AS SELECT DISTINCT event_key, person_id "
                      "FROM network_mentions ORDER BY event_key")
        store.execute("CREATE OR REPLACE TABLE network_household_people AS SELECT DISTINCT household_key, person_id "
                      "FROM network_mentions WHERE household_key IS NOT NULL ORDER BY household_key")
        for sql_index in NETWORK_INDEXES:
            store.execute(sql_index)
        store.execute("DELETE FROM household_aliases")
        aliases = result["household_aliases"]
        if aliases.height:
            store.insert_df("household_aliases", aliases.with_columns(computed_at=pl.lit(computed_at)))
    timings = {"read": round(t_read, 3), **result["timings"], "write": round(time.perf_counter() - t1, 3),
               "total": round(time.perf_counter() - t0, 3),
               "cpu_total": round(time.process_time() - c0, 3)}  # CPU seconds, all threads of this process
    counts = dict(out.group_by("rule").len().iter_rows()) if out.height else {}
    return {
        "findings": {r: int(counts.get(r, 0)) for r in RULES},
        "total": out.height,
        "severity": dict(out.group_by("severity").len().iter_rows()) if out.height else {},
        "mentions": frame.height,
        "persons": frame["person_id"].n_unique() if frame.height else 0,
        "mentions_without_person": int(unlinked or 0),
        "notification_counts": nc.height,
        "dwellings": dwellings,
        "computed_at": computed_at.isoformat(),
        "timings": timings,
    }


def findings_for(store: Store, person_id: str | None = None, rule: str | None = None) -> list[dict[str, Any]]:
    """Findings as dicts (evidence parsed), optionally for one person (as subject or in the evidence) or rule."""

    where, params = [], []
    if person_id is not None:
        where.append("(person_id = ? OR contains(evidence, ?))")
        params += [person_id, f'"{person_id}"']
    if rule is not None:
        where.append("rule = ?")
        params.append(rule)
    sql = "SELECT * FROM findings" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY rule, finding_key"
    rows = store.rows(sql, params)
    for r in rows:
        r["evidence"] = json.loads(r["evidence"])
    return rows


def notification_counts_for(store: Store, subject_kind: str, subject_key: str) -> dict[str, Any] | None:
    """A person's or household's notification counts over the 12 months to the latest event (as of
    the last analytics run): ``notifications``, ``harm_notifications``, per agency; None if none."""
    if subject_kind not in ("person", "household"):
        raise IntelError(f"subject kind must be 'person' or 'household', not {subject_kind!r}")
    rows = store.rows("SELECT * FROM notification_counts WHERE subject_kind = ? AND subject_key = ?",
                      [subject_kind, subject_key])
    return rows[0] if rows else None
