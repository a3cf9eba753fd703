"""Search by agency record reference: the way to find a person in an encoded store.

An encoded store (docs/encoded-extracts.md) holds no names, dates of birth or addresses, so it
cannot be searched by them unless the hub holds the partners' key, which by design it does not
(docs/threat-model.md). What a hub analyst has instead is the reference an agency quotes: the
agency and its record id (``police:P00001216``), as it appears in chronologies and network
views. This finds that record's person and the records linked to it. It works on a clear store
too.

A health_confidential record is not found for a viewer without health clearance: whether it
exists is itself what the restriction protects.
"""

from __future__ import annotations

from typing import Any

from ingest.contract import SOURCES
from core.errors import IntelError

MAX_REFERENCE = 140


def parse_reference(reference: str) -> tuple[str, str]:
    """``source:record_id`` (a space or ``/`` also separates them); the source is checked."""
    text = (reference or "").strip()
    if not text:
        raise IntelError("reference is empty: give an agency record reference, e.g. police:P00001216")
    if len(text) > MAX_REFERENCE:
        raise IntelError(f"reference is {len(text)} characters; at most {MAX_REFERENCE}")
    for sep in (":", "/", " "):
        if sep in text:
            source, record_id = (p.strip() for p in text.split(sep, 1))
            break
    else:
        raise IntelError(f"reference {text!r} has no agency: write it as SOURCE:RECORD_ID, e.g. police:P00001216")
    source = source.lower().replace(" ", "_")
    if source not in SOURCES:
        raise IntelError(f"reference {text!r}: agency {source!r} is not one of {', '.join(SOURCES)}")
    if not record_id:
        raise IntelError(f"reference {text!r} has no record id after the agency")
    return source, record_id


def search_by_reference(store: Any, reference: str, *, health_clearance: bool = True) -> dict[str, Any]:
    """{query, total, candidates: [{person_id, reference, source, record_id, score, records,
    references}]}: the person holding that record (total 0 when no such record is linked)."""
    source, record_id = parse_reference(reference)
    mention_id = f"{source}:{record_id}"
    hidden = "" if health_clearance else " AND m.restriction <> 'health_confidential'"
    rows = store.rows(
        "SELECT coalesce(p.merged_into, pm.person_id) AS person_id FROM mentions m "
        "JOIN person_mentions pm USING (mention_id) "
        "LEFT JOIN persons p ON p.person_id = pm.person_id AND p.status = 'merged' "
        f"WHERE m.mention_id = ?{hidden}", [mention_id])
    query = {"reference": mention_id}
    if not rows:
        return {"query": query, "total": 0, "candidates": []}
    person_id = rows[0]["person_id"]
    refs = [r["mention_id"] for r in store.rows(
        "SELECT m.mention_id FROM mentions m JOIN person_mentions pm USING (mention_id) "
        "LEFT JOIN persons p ON p.person_id = pm.person_id AND p.status = 'merged' "
        f"WHERE coalesce(p.merged_into, pm.person_id) = ?{hidden} ORDER BY m.mention_id", [person_id])]
    return {"query": query, "total": 1, "candidates": [{
        "person_id": person_id, "reference": mention_id, "source": source, "record_id": record_id, "score": 1.0,
        "records": len(refs), "references": refs}]}
