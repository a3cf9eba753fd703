"""Replacements that cannot lose data: a re-sent file must carry every column the rows it replaces had.

A file that re-sends records (the same ``source:record_id``) or events (the same
``source:event_id``) replaces what the store holds for them. A column absent from the file
would load as empty and erase every value the replaced rows held in it - a police file re-sent
without its ``surname`` column once wiped 513 surnames with exit 0; without its ``restriction``
column it would lift every restriction. So a file that lacks a column is checked against the
rows it replaces: if any of them holds a value there, the whole drop is refused with the column
and the count of values it would erase, unless the drop's manifest says the agency withdraws
that column on purpose (``"withdrawn_columns": ["surname"]`` in the file's manifest entry).
Columns present but blank in some rows are values sent (blank), not a missing column.

An encoded file (docs/encoded-extracts.md) never carries the clear identifiers: there the rows it
replaces are checked on the encoded columns instead (``mention_encodings``: a Bloom filter or a
token the file lacks), and withdrawing a clear identifier withdraws the encodings made from it.
"""

from __future__ import annotations

import polars as pl

from core.errors import IntelError
from core.store import Store
from ingest import encoded_contract as ec

# contract column -> (table, store column, SQL for "holds a value")
_MENTION_COLUMNS = {
    "person_ref": "person_ref", "forename": "forename_raw", "middle_names": "middle_names_raw",
    "surname": "surname_raw", "dob": "dob_raw", "sex": "sex_raw", "address": "address_raw",
    "postcode": "postcode_raw", "uprn": "uprn", "borough": "borough", "restriction": "restriction",
}
_EVENT_COLUMNS = ("dash_risk", "location_postcode", "location_uprn", "referral_source", "initial_rag",
                  "final_rag", "decision_date", "outcome", "presentation", "safeguarding_concern")


def withdrawn_columns(manifest: dict, file_name: str) -> set[str]:
    """The columns the manifest says this file withdraws on purpose (an IntelError if malformed)."""
    entry = manifest.get("files", {}).get(file_name, {})
    withdrawn = entry.get("withdrawn_columns", [])
    if not isinstance(withdrawn, list) or not all(isinstance(c, str) for c in withdrawn):
        raise IntelError(f"manifest.json: files.{file_name}.withdrawn_columns must be a list of column names")
    return set(withdrawn)


def erasures(store: Store, source: str, absent: tuple[str, ...], rows: pl.DataFrame,
             encoded: bool = False) -> dict[str, int]:
    """For each column absent from a file: how many values the rows it replaces hold there (only
    columns with at least one). ``rows``: the file's rows that will load (String columns
    ``record_id``, ``event_id``). ``encoded``: the file is an encoded one, whose clear identifiers
    are absent by design (their encodings are checked instead)."""
    mention_cols = [c for c in absent if c in _MENTION_COLUMNS and not (encoded and c in ec.CLEAR_IDENTIFIERS)]
    event_cols = [c for c in absent if c in _EVENT_COLUMNS]
    encoding_cols = [c for c in absent if c in ec.ENCODED_COLUMNS] if encoded else []
    if not (mention_cols or event_cols or encoding_cols) or rows.height == 0:
        return {}
    keys = rows.select(
        (pl.lit(f"{source}:") + pl.col("record_id").str.strip_chars()).alias("mention_id"),
        (pl.lit(f"{source}:") + pl.col("event_id").str.strip_chars()).alias("event_key"))
    out: dict[str, int] = {}
    store.register("_replacing", keys)
    try:
        if mention_cols:
            sums = ", ".join(
                f"count(*) FILTER (WHERE m.{_MENTION_COLUMNS[c]} IS NOT NULL"
                + (" AND m.restriction <> 'none')" if c == "restriction" else ")") + f" AS \"{c}\""
                for c in mention_cols)
            counts = store.rows(f"SELECT {sums} FROM mentions m WHERE m.mention_id IN "
                                "(SELECT mention_id FROM _replacing)")[0]
            out.update({c: int(n) for c, n in counts.items() if n})
        if event_cols:
            sums = ", ".join(f"count(*) FILTER (WHERE e.{c} IS NOT NULL) AS \"{c}\"" for c in event_cols)
            counts = store.rows(f"SELECT {sums} FROM events e WHERE e.event_key IN "
                                "(SELECT DISTINCT event_key FROM _replacing)")[0]
            out.update({c: int(n) for c, n in counts.items() if n})
        if encoding_cols:
            sums = ", ".join(f"count(*) FILTER (WHERE x.{c} IS NOT NULL) AS \"{c}\"" for c in encoding_cols)
            counts = store.rows(f"SELECT {sums} FROM mention_encodings x WHERE x.mention_id IN "
                                "(SELECT mention_id FROM _replacing)")[0]
            out.update({c: int(n) for c, n in counts.items() if n})
    finally:
        store.unregister("_replacing")
    return out


def refuse_erasures(store: Store, file_name: str, source: str, absent: tuple[str, ...], rows: pl.DataFrame,
                    manifest: dict, encoded: bool = False) -> None:
    """Raise IntelError (nothing loaded) if this file would erase values by lacking a column the
    manifest does not withdraw."""
    withdrawn = withdrawn_columns(manifest, file_name)
    if encoded:   # a clear identifier withdrawn: the encodings made only from it go with it
        withdrawn |= set(ec.made_from_nothing(withdrawn & set(ec.CLEAR_IDENTIFIERS)))
    unknown = withdrawn - set(absent)
    if unknown:
        raise IntelError(f"manifest.json: {file_name} withdraws {', '.join(sorted(unknown))}, but the file "
                         "has that column: send it without the column, or do not withdraw it")
    lost = erasures(store, source, tuple(c for c in absent if c not in withdrawn), rows, encoded)
    if lost:
        what = "; ".join(f"no {c} column{_made_from(c)}, but the rows it replaces hold {n} {c} value{'s' * (n != 1)}"
                         for c, n in sorted(lost.items()))
        raise IntelError(
            f"{file_name}: {what} - loading it would erase them. Send the column, or, if the agency "
            f"withdraws it on purpose, list it in manifest.json under files.\"{file_name}\".withdrawn_columns. "
            "Nothing was loaded")


def _made_from(column: str) -> str:
    """`` (made from surname)`` for an encoded column: what the agency's file lacked."""
    if column not in ec.MADE_FROM:
        return ""
    return " (made from " + ", or ".join(" and ".join(alt) for alt in ec.MADE_FROM[column]) + ")"
