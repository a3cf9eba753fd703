"""Data migrations between schema versions: what the idempotent schema files cannot do alone.

core/store.py runs :func:`upgrade` when it opens a store of an older version for writing, inside
the same transaction as the schema files and the new version stamp, so a failure at any step
leaves the store exactly as it was (and still at its old version, tried again on the next open).

Version 2 - person ids ``P`` + 8 digits become ``MI-`` + the same 8 digits + a check letter
(core/person_ids.py says why). Rewritten: every column that holds a person id, whole
(``persons``, ``person_mentions``, ``person_history``, ``findings``, ``alerts``,
``notification_counts``, the network tables, ``search_index``), inside a key (``finding_key``,
``alert_key``: ``rule:<person>``) and inside JSON or text written by the system (evidence, reasons,
alert updates, possible links, run reports). A token right after ``<source>:`` is an agency's
record reference (``police:P00001033``), never a person id, and is left alone, as are the
agencies' own columns (``mentions.record_id``). Not rewritten, on purpose: the audit log (its
chain of MACs is the proof nothing was changed) and what people typed (decision and alert-action
reasons). The old ids stay resolvable through ``person_id_aliases`` (old_id -> person_id).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from core.person_ids import DIGITS, SQL_LEGACY, migrated_id

Connection = Any   # the store's DuckDB connection, lent by core/store.py (the one module importing duckdb)

# (table, column, filter): columns holding exactly one person id
WHOLE_ID_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("persons", "person_id", ""),
    ("persons", "merged_into", ""),
    ("person_mentions", "person_id", ""),
    ("person_history", "person_id", ""),
    ("person_history", "related_person_id", ""),
    ("findings", "person_id", ""),
    ("alerts", "person_id", ""),
    ("notification_counts", "subject_key", "subject_kind = 'person'"),
    ("network_mentions", "person_id", ""),
    ("network_event_people", "person_id", ""),
    ("network_household_people", "person_id", ""),
    ("search_index", "person_id", ""),
)
# (table, column): keys, JSON and system-written text with person ids among other words
TEXT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("findings", "finding_key"),
    ("findings", "explanation"),
    ("findings", "evidence"),
    ("alerts", "alert_key"),
    ("alerts", "finding_key"),
    ("alerts", "explanation"),
    ("alerts", "evidence"),
    ("alerts", "updates"),
    ("alerts", "possible_links"),
    ("runs", "report"),
    ("link_runs", "report"),
)
LIST_COLUMNS: tuple[tuple[str, str], ...] = (("alerts", "person_ids"),)

_TOKEN = re.compile(rf"(?<![\w-])(?:([A-Za-z_][\w]*):)?(P\d{{{DIGITS}}})(?![\w-])")


def _columns(con: Connection) -> set[tuple[str, str]]:
    return {(t, c) for t, c in con.execute(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'main'").fetchall()}


def text_rewriter(mapping: dict[str, str], sources: set[str]) -> Callable[[str | None], str | None]:
    """A function rewriting every old person id in a text that ``mapping`` knows, except one
    written as an agency record reference ``<source>:<record_id>`` (``sources``: the store's)."""
    def rewrite(text: str | None) -> str | None:
        if text is None:
            return None

        def one(found: re.Match[str]) -> str:
            prefix, token = found.group(1), found.group(2)
            if prefix is not None and prefix in sources:
                return found.group(0)
            new = mapping.get(token)
            if new is None:
                return found.group(0)
            return (prefix + ":" if prefix is not None else "") + new
        return _TOKEN.sub(one, text)
    return rewrite


def _to_v2_person_ids(con: Connection) -> dict[str, Any]:
    """Rewrite old person ids to the ``MI-`` form everywhere but the audit log; fill person_id_aliases."""
    have = _columns(con)
    whole = [(t, c, f) for t, c, f in WHOLE_ID_COLUMNS if (t, c) in have]
    olds: set[str] = set()
    for table, column, where in whole:
        cond = f" AND {where}" if where else ""
        olds |= {r[0] for r in con.execute(
            f'SELECT DISTINCT "{column}" FROM "{table}" WHERE regexp_matches("{column}", ?){cond}',
            [SQL_LEGACY]).fetchall()}
    if not olds:
        return {"person_ids_rewritten": 0}
    mapping = {old: migrated_id(old) for old in sorted(olds)}
    # no cleanup on failure: the caller rolls back (the temp table with it) and closes the connection
    con.execute("CREATE OR REPLACE TEMP TABLE _pid_map (old_id VARCHAR PRIMARY KEY, new_id VARCHAR NOT NULL)")
    con.executemany("INSERT INTO _pid_map VALUES (?, ?)", list(mapping.items()))
    for table, column, where in whole:
        cond = f" AND t.{where}" if where else ""
        con.execute(f'UPDATE "{table}" t SET "{column}" = m.new_id FROM _pid_map m '
                    f'WHERE t."{column}" = m.old_id{cond}')
    sources = {r[0] for r in con.execute("SELECT DISTINCT source FROM mentions").fetchall()} \
        if ("mentions", "source") in have else set()
    con.create_function("_mi_rewrite_pids", text_rewriter(mapping, sources), ["VARCHAR"], "VARCHAR")
    for table, column in TEXT_COLUMNS:
        if (table, column) in have:
            con.execute(f'UPDATE "{table}" SET "{column}" = _mi_rewrite_pids("{column}") '
                        f'WHERE regexp_matches("{column}", ?)', [f"P[0-9]{{{DIGITS}}}"])
    for table, column in LIST_COLUMNS:
        if (table, column) in have:
            con.execute(f'UPDATE "{table}" SET "{column}" = list_transform("{column}", lambda x: _mi_rewrite_pids(x)) '
                        f'WHERE "{column}" IS NOT NULL')
    con.remove_function("_mi_rewrite_pids")
    con.execute("INSERT INTO person_id_aliases SELECT old_id, new_id, now()::TIMESTAMP FROM _pid_map "
                "ON CONFLICT DO NOTHING")
    for table, column, where in whole:   # nothing old may be left in a whole-id column
        cond = f" AND {where}" if where else ""
        left = con.execute(f'SELECT count(*) FROM "{table}" WHERE regexp_matches("{column}", ?){cond}',
                           [SQL_LEGACY]).fetchall()[0][0]
        if left:
            raise RuntimeError(f"{left} old person ids are left in {table}.{column}")
    con.execute("DROP TABLE _pid_map")
    return {"person_ids_rewritten": len(mapping)}


# version -> the step that brings a store of the version below up to it
STEPS: dict[int, Callable[[Connection], dict[str, Any]]] = {2: _to_v2_person_ids}


def upgrade(con: Connection, from_version: int, to_version: int) -> dict[str, Any]:
    """Run every step above ``from_version`` up to ``to_version``, in order. The caller holds the
    transaction (all or nothing). Returns what each step did, by version."""
    done: dict[str, Any] = {}
    for version in sorted(v for v in STEPS if from_version < v <= to_version):
        done[str(version)] = STEPS[version](con)
    return done
