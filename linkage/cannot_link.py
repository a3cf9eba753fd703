"""Cannot-link pairs: two mentions that can never be one person, whatever links join them.

- **one event**: two rows of one agency's extract with one event_id are two people (the
  contract: one row is one person's involvement in one event), e.g. twins as subject child and
  sibling on one social-care contact;
- **the twin pattern**: the same surname and date of birth with a clearly different forename (not
  a nickname or alias of it, Jaro-Winkler below 0.80, neither an initial nor a title) - the
  pattern the model's twin level scores (linkage/comparisons.py), here enforced over whole
  clusters. Only while the twin level is on (``[linkage] twin_weight`` not 0).
- **named twins**: two forenames one agency recorded on one event for two people of one surname
  and birth date (twins or triplets on one contact) are two people wherever else they appear
  with that surname and birth date: every record of the one name is held apart from every record
  of the other, not only the two on the event. The event proves the names are two children, not
  a spelling variant, which is what the model's twin level cannot tell when the names look alike
  ("isla" / "isabella price", Jaro-Winkler >= 0.80: merged on standard seed 49, 2026-12-07).
  A family's surname is any of its parts: "henry thompson" and "oliver thompson roberts" on one
  contact hold "henry roberts" apart from "oliver thompson-roberts" (standard seed 66).
- **a generation apart**: the same forename and surname at the same postcode or address, birth
  years more than 15 apart, another birthday (day or month) and the years differing in two or
  more digits (a father and son of one name, "Sr / Jr"): the pattern the model's "generation" dob
  level scores, enforced over whole clusters, so a record of theirs with no birth date cannot
  join the two through itself. A typed year (1815 / 1845, same birthday: one digit) is no
  generation: historical_50k holds 1,423 same-person pairs of one name and postcode more than 15
  years apart, all but 6 pairs of them such typos, and the 6 are different people.

Clustering (linkage/clusters.py) refuses any model link that would bring such a pair into one
person, directly or through a third record; a person's 'same' decision still may. Which kinds
apply is the ``[identity] cannot_link`` list of the configuration passed down.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import polars as pl

from core.errors import IntelError
from core.store import Store
from linkage import features as F
from linkage.comparisons import TITLES

KINDS = ("same_event", "named_twins", "twin", "generation")
_SCHEMA = {"mention_a": pl.Utf8, "mention_b": pl.Utf8, "kind": pl.Utf8}


def _digits_differ(a: str, b: str) -> str:
    """SQL: in how many of the 4 digit positions two years differ."""
    pa, pb = (f"lpad(CAST({x} AS VARCHAR), 4, '0')" for x in (a, b))
    return " + ".join(f"CAST(substr({pa}, {i}, 1) <> substr({pb}, {i}, 1) AS INTEGER)" for i in range(1, 5))


def cannot_link_kinds(config: dict[str, Any]) -> list[str]:
    """The kinds the configuration asks for (``[identity] cannot_link``), checked."""
    kinds = config.get("identity", {}).get("cannot_link", ["same_event"])
    if not isinstance(kinds, list) or any(k not in KINDS for k in kinds):
        raise IntelError(f"config [identity] cannot_link must be a list drawn from {list(KINDS)}, got {kinds!r}")
    if "twin" in kinds and not float(config.get("linkage", {}).get("twin_weight", -30.0)):
        kinds = [k for k in kinds if k != "twin"]   # the hub turned the twin level off
    return kinds


def cannot_link_pairs(store: Store, config: dict[str, Any], scope: Iterable[str] | None = None) -> pl.DataFrame:
    """mention_a < mention_b, kind: every cannot-link pair with at least one end in ``scope``
    (None: all mentions)."""
    kinds = cannot_link_kinds(config)
    if not kinds:
        return pl.DataFrame(schema=_SCHEMA)
    in_scope = "TRUE"
    if scope is not None:
        store.register("_cl_scope", pl.DataFrame({"mention_id": sorted(set(scope))}, schema={"mention_id": pl.Utf8}))
        in_scope = ("(a.mention_id IN (SELECT mention_id FROM _cl_scope) "
                    "OR b.mention_id IN (SELECT mention_id FROM _cl_scope))")
    parts = []
    try:
        if "same_event" in kinds:
            parts.append(store.df(
                "SELECT a.mention_id AS mention_a, b.mention_id AS mention_b, 'same_event' AS kind "
                "FROM mentions a JOIN mentions b ON a.event_key = b.event_key AND a.mention_id < b.mention_id "
                f"WHERE {in_scope}"))
        if "named_twins" in kinds:
            # a surname's parts ("thompson-roberts", "thompson roberts": thompson, roberts): one family
            parts_of = "string_split(regexp_replace({0}, '[- ]+', ' ', 'g'), ' ')"
            parts.append(store.df(
                f"WITH ev AS (SELECT mention_id, event_key, forename, dob, {parts_of.format('surname')} AS sp "
                "FROM mentions WHERE length(forename) > 1 AND nullif(surname, '') IS NOT NULL AND dob IS NOT NULL), "
                "proven AS (SELECT DISTINCT list_distinct(list_concat(a.sp, b.sp)) AS sp, a.dob, a.forename AS fa, "
                "b.forename AS fb FROM ev a JOIN ev b ON a.event_key = b.event_key AND a.dob = b.dob "
                "AND a.forename <> b.forename AND a.mention_id <> b.mention_id AND list_has_any(a.sp, b.sp)), "
                f"side AS (SELECT m.mention_id, m.forename, m.dob, {parts_of.format('m.surname')} AS sp FROM mentions m "
                "WHERE m.dob IS NOT NULL AND nullif(m.surname, '') IS NOT NULL) "
                "SELECT DISTINCT a.mention_id AS mention_a, b.mention_id AS mention_b, 'named_twins' AS kind "
                "FROM proven p JOIN side a ON a.dob = p.dob AND a.forename = p.fa AND list_has_any(a.sp, p.sp) "
                "JOIN side b ON b.dob = p.dob AND b.forename = p.fb AND list_has_any(b.sp, p.sp) "
                f"WHERE a.mention_id < b.mention_id AND {in_scope}"))
        if "twin" in kinds:
            F.register_nicknames(store)
            titles = ", ".join(repr(t) for t in TITLES)
            names = (f"SELECT m.mention_id, m.surname, m.dob, m.forename, "
                     f"list_concat([m.forename], coalesce(n.canons, [])) AS aliases "
                     f"FROM mentions m LEFT JOIN {F.NICKNAME_TABLE} n ON n.name = m.forename "
                     f"WHERE m.dob IS NOT NULL AND nullif(m.surname, '') IS NOT NULL AND length(m.forename) > 1 "
                     f"AND m.forename NOT IN ({titles})")
            parts.append(store.df(
                f"WITH p AS ({names}) "
                "SELECT a.mention_id AS mention_a, b.mention_id AS mention_b, 'twin' AS kind "
                "FROM p a JOIN p b ON a.surname = b.surname AND a.dob = b.dob AND a.mention_id < b.mention_id "
                f"WHERE {in_scope} AND a.forename <> b.forename AND a.forename <> b.surname "
                "AND b.forename <> a.surname AND len(list_intersect(a.aliases, b.aliases)) = 0 "
                "AND jaro_winkler_similarity(a.forename, b.forename) < 0.80"))
        if "generation" in kinds:
            for place in ("postcode", "address"):
                parts.append(store.df(
                    "SELECT a.mention_id AS mention_a, b.mention_id AS mention_b, 'generation' AS kind "
                    f"FROM mentions a JOIN mentions b ON a.{place} = b.{place} AND a.surname = b.surname "
                    "AND a.forename = b.forename AND a.mention_id < b.mention_id "
                    f"WHERE {in_scope} AND abs(year(a.dob) - year(b.dob)) > 15 "
                    "AND (month(a.dob) <> month(b.dob) OR day(a.dob) <> day(b.dob)) "
                    f"AND ({_digits_differ('year(a.dob)', 'year(b.dob)')}) >= 2"))
    finally:
        if scope is not None:
            store.unregister("_cl_scope")
    if not parts:
        return pl.DataFrame(schema=_SCHEMA)
    return pl.concat([p.cast(_SCHEMA) for p in parts]).unique(["mention_a", "mention_b"], keep="first",
                                                              maintain_order=True)
