"""Agency-id links: the records one agency files under one of its own person ids are one person.

The contract (spec/extracts.md) makes ``person_ref`` "the agency's own person id ... trustworthy
within one source". Two records of one agency with one id are one person; the model alone does not
always say so: a police nominal's record with a typed forename and another address scores 0.997
against the nominal's other records, below the identity threshold, while it scores 0.9994 against
a stranger of the same name and birthday, and clustering then files that record (and through it
the nominal's history) under the stranger (bench/lookalike_chains.py, standard seed 61).

So clustering takes these pairs as links of probability 1.0, before any model link: the
records of one (source, person_ref) enter as one unit and every constraint (cannot-link pairs,
'different' decisions, two trusted ids of one agency) is checked against the whole unit. The
converse is not assumed: one person may hold two police nominals (``[identity]
trusted_ref_sources`` governs that side). Which sources count is ``[identity] agency_id_links``
(default: every source; an empty list turns it off).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import polars as pl

from core.errors import IntelError
from core.store import Store

_SCHEMA = {"mention_a": pl.Utf8, "mention_b": pl.Utf8, "match_probability": pl.Float64}


def agency_id_sources(config: dict[str, Any]) -> list[str] | None:
    """The sources whose ids tie their records (``[identity] agency_id_links``), checked; None: all."""
    value = config.get("identity", {}).get("agency_id_links", True)
    if value is True:
        return None
    if value is False:
        return []
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise IntelError(f"config [identity] agency_id_links must be true, false or a list of sources, got {value!r}")
    return value


def agency_id_links(store: Store, config: dict[str, Any], scope: Iterable[str] | None = None) -> pl.DataFrame:
    """mention_a, mention_b, match_probability 1.0: each record of a (source, person_ref) group
    tied to the group's first record (a star: enough for clustering, which takes links
    transitively). ``scope``: only groups with a record in it (None: all)."""
    sources = agency_id_sources(config)
    if sources == []:
        return pl.DataFrame(schema=_SCHEMA)
    where = "person_ref IS NOT NULL AND person_ref <> ''"
    params: list[Any] = []
    if sources is not None:
        where += " AND list_contains(?::VARCHAR[], source)"
        params.append(sources)
    if scope is not None:
        store.register("_ref_scope", pl.DataFrame({"mention_id": sorted(set(scope))}, schema={"mention_id": pl.Utf8}))
        where += (" AND (source, person_ref) IN (SELECT (m.source, m.person_ref) FROM mentions m "
                  "SEMI JOIN _ref_scope USING (mention_id))")
    try:
        frame = store.df(
            "WITH g AS (SELECT mention_id, min(mention_id) OVER (PARTITION BY source, person_ref) AS first "
            f"FROM mentions WHERE {where}) "
            "SELECT first AS mention_a, mention_id AS mention_b, 1.0::DOUBLE AS match_probability "
            "FROM g WHERE mention_id <> first ORDER BY mention_a, mention_b", params)
    finally:
        if scope is not None:
            store.unregister("_ref_scope")
    return frame.cast(_SCHEMA)

