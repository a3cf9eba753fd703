"""Records with no birth date between a father and son of one name: neither's until a person says.

A father and son of one name at one home ("paul bell" senior and junior) are held apart by their
dated records (linkage/cannot_link.py, kind "generation"). A record of either with no birth
date (a police witness, a contact naming "paul bell" at the family's address) matches both: the
name and the address agree with each, and no dob disagrees. Clustering gives it, and the other
records its agency files under the same id (one unit, linkage/agency_ids.py), to whichever
dated record it happened to score higher against. On the third pass's 16 worlds that was the
wrong one for 7 of the 10 look-alikes merged (bench/lookalike_chains.py: a son's police records
with no dob scored 0.9999+ against his father's GP record and 0.96 against his own; nothing in
the records tells them apart, the difference is the other records' noise).

So, after clustering: a *unit* (the records one agency files under one id, or a single record
without one) none of whose records has a birth date, that sits in one of two persons a
generation pair holds apart and has a link of at least the review threshold to a record of the
other, is ambiguous. It is cut from every model link (its agency-id ties still hold it
together), becomes a person of its own (contested), and its links to both persons go to the
review queue (linkage/review.py), where a person decides. A record someone already decided on
('same' or 'different') is never cut: the decision stands.

The records of persons outside an incremental run's scope are read as their current persons, so
an incremental run cuts what a full run would.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import polars as pl

from core.store import Store
from linkage.clusters import Clustering, cluster_mentions
from linkage.union_find import components


def generation_sides(cluster_of: Mapping[str, str], pairs: Iterable[tuple[str, str]]) -> dict[str, set[str]]:
    """Cluster -> the clusters a generation pair (one dated record in each) holds it apart from."""
    sides: dict[str, set[str]] = {}
    for a, b in pairs:
        ca, cb = cluster_of.get(a), cluster_of.get(b)
        if ca is not None and cb is not None and ca != cb:
            sides.setdefault(ca, set()).add(cb)
            sides.setdefault(cb, set()).add(ca)
    return sides


def ambiguous_units(cluster_of: Mapping[str, str], sides: Mapping[str, set[str]], undated: set[str],
                    reach: Iterable[tuple[str, str]], ties: Iterable[tuple[str, str]],
                    settled: Iterable[str] = ()) -> set[str]:
    """The mentions of every ambiguous unit (module docstring). ``undated``: mentions with no dob;
    ``reach``: links (pairs) at or above the review threshold; ``ties``: agency-id links (a unit
    is a component of them within one cluster); ``settled``: mentions a person decided on."""
    settled = set(settled)
    root = components(ties)

    def unit(m: str) -> tuple[str, str]:
        return (root.get(m, m), cluster_of[m])

    members: dict[tuple[str, str], set[str]] = {}
    for m, c in cluster_of.items():
        if c in sides and (m in root or m in undated):
            members.setdefault(unit(m), set()).add(m)
    reaching: set[tuple[str, str]] = set()
    for a, b in reach:
        for x, y in ((a, b), (b, a)):
            cx, cy = cluster_of.get(x), cluster_of.get(y)
            if x in undated and cx in sides and cy in sides[cx]:
                reaching.add(unit(x))
    out: set[str] = set()
    for u in reaching:
        ms = members[u]
        if ms <= undated and not ms & settled:
            out |= ms
    return out


def _without(edges: pl.DataFrame, cut: set[str], ties: pl.DataFrame) -> pl.DataFrame:
    """The model links touching no cut mention, and every agency-id tie."""
    gone = pl.Series(sorted(cut), dtype=pl.Utf8).implode()
    kept = edges.filter(~pl.col("mention_a").is_in(gone) & ~pl.col("mention_b").is_in(gone))
    return pl.concat([kept.select("mention_a", "mention_b", "match_probability").cast(kept.schema),
                      ties.select("mention_a", "mention_b", "match_probability").cast(kept.schema)])


def cluster_apart_generations(store: Store, scope: Iterable[str], model_edges: pl.DataFrame, ties: pl.DataFrame,
                              threshold: float, review: float, *, cannot_link: pl.DataFrame,
                              same: list[tuple[str, str]] = (), different: list[tuple[str, str]] = (),
                              **kwargs) -> Clustering:
    """cluster_mentions over ``model_edges`` plus the agency-id ``ties``; then every ambiguous
    unit (module docstring) is cut from the model links and the scope clustered again, until
    none is left (each round only cuts more). ``review``: the review threshold (the reach of a
    link to the other side). The cut mentions are added to the result's ``contested``."""
    scope = sorted(set(scope))
    settled = {m for p in list(same) + list(different) for m in p}
    generation = cannot_link.filter(pl.col("kind") == "generation") if "kind" in cannot_link.columns else cannot_link[:0]
    edges = pl.concat([model_edges.select(ties.columns).cast(ties.schema), ties])
    cut: set[str] = set()
    while True:
        c = cluster_mentions(scope, edges, threshold, same=same, different=different, cannot_link=cannot_link, **kwargs)
        if not generation.height:
            return c
        more = _ambiguous(store, c.cluster_of, generation, review, ties, settled) - cut
        if not more:
            c.contested = sorted(set(c.contested) | cut)
            return c
        cut |= more
        edges = _without(model_edges, cut, ties)


def _ambiguous(store: Store, cluster_of: dict[str, str], generation: pl.DataFrame, review: float,
               ties: pl.DataFrame, settled: set[str]) -> set[str]:
    """Reads what ambiguous_units needs from the store: the clusters of the generation pairs' ends
    outside the scope (their current persons), the undated mentions in the clusters held apart,
    and those mentions' links at or above ``review``."""
    pairs = generation.select("mention_a", "mention_b").rows()
    ends = {m for p in pairs for m in p if m not in cluster_of}
    where = dict(cluster_of)
    where.update(_current_persons(store, ends))
    sides = generation_sides(where, pairs)
    if not sides or "link_edges" not in store.tables():
        return set()
    inside = [m for m, c in cluster_of.items() if c in sides]
    store.register("_gen_inside", pl.DataFrame({"mention_id": inside}, schema={"mention_id": pl.Utf8}))
    try:
        undated = set(store.df("SELECT mention_id FROM mentions SEMI JOIN _gen_inside USING (mention_id) "
                               "WHERE dob IS NULL")["mention_id"].to_list())
        if not undated:
            return set()
        store.register("_gen_undated", pl.DataFrame({"m": sorted(undated)}, schema={"m": pl.Utf8}))
        reach = store.df("SELECT mention_a, mention_b FROM link_edges WHERE match_probability >= ? AND "
                         "(mention_a IN (SELECT m FROM _gen_undated) OR mention_b IN (SELECT m FROM _gen_undated))",
                         [review])
        store.unregister("_gen_undated")
    finally:
        store.unregister("_gen_inside")
    pairs_reached = reach.rows()
    where.update(_current_persons(store, {m for p in pairs_reached for m in p if m not in where}))
    near = pl.Series(inside, dtype=pl.Utf8).implode()   # a unit in a side cluster has a tie touching it
    tie_pairs = ties.filter(pl.col("mention_a").is_in(near) | pl.col("mention_b").is_in(near)).select(
        "mention_a", "mention_b").rows()
    return ambiguous_units(where, sides, undated, pairs_reached, tie_pairs, settled) & set(cluster_of)


def _current_persons(store: Store, mentions: set[str]) -> dict[str, str]:
    """mention -> 'person:' + its current person id (mentions outside an incremental scope)."""
    if not mentions or "person_mentions" not in store.tables():
        return {}
    store.register("_gen_out", pl.DataFrame({"mention_id": sorted(mentions)}, schema={"mention_id": pl.Utf8}))
    try:
        rows = store.df("SELECT mention_id, person_id FROM person_mentions SEMI JOIN _gen_out USING (mention_id)").rows()
    finally:
        store.unregister("_gen_out")
    return {m: f"person:{p}" for m, p in rows}
