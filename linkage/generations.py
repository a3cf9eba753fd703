"""Records with no birth date between a father and son of one name: neither's until a person says.

A father and son of one name at one home ("paul bell" senior and junior) are held apart by their
dated records (linkage/cannot_link.py: a "generation" pair, or the two on one event). A record
of either with no birth date (a police witness, a contact naming "paul bell" at the family's
address) matches both: the name and the address agree with each, and no dob disagrees.
Clustering gave it, and the other records its agency files under the same id (one unit,
linkage/agency_ids.py), to whichever dated record it happened to score higher against: on 16
fresh worlds (docs/bench-linkage.md, "Issue 14, fourth pass") a son's police records with no
dob scored 0.99996 against his father's GP record and 0.96 against his own, or linked to one side
only because its address was written as the other's was; nothing in the records tells them apart.

So, after clustering, two persons are *held apart a generation apart* when a cannot-link pair
between them has one forename and surname and birth years more than 15 apart. A *unit* (the
records one agency files under one id, or a single record without one) none of whose records has a
birth date, in one of two such persons, is ambiguous when it reaches the other: a link of at
least the review threshold to one of its records, or the pair's own name (either order) - and
its address names a street of the other's records, or no street at all. An ambiguous unit is cut
from every model link (its agency-id ties still hold it together), becomes a person of its own
(contested), and its links to both persons go to the review queue (linkage/review.py), where a
person decides. A unit on another street stays where it is (two men of one name a generation
apart in one district postcode, each at his own street: the record is the one's whose street it
names), and so does a record someone decided on ('same' or 'different': the decision stands).

The members of persons outside an incremental run's scope are read as their current persons, so
an incremental run cuts what a full run would.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from core.store import Store
from graphs.dwellings import street_part
from linkage.clusters import Clustering, cluster_mentions
from linkage.comparisons import TITLES
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
                    settled: Iterable[str] = (), streets: Mapping[str, str | None] | None = None) -> set[str]:
    """The mentions of every ambiguous unit (module docstring). ``undated``: mentions with no dob;
    ``reach``: pairs (x, y) that tie an undated x to the side y is on (its links at or above the
    review threshold, or the pair's name); ``ties``: agency-id links (a unit is a component of
    them within one cluster); ``settled``: mentions a person decided on; ``streets``: mention ->
    the street word of its address (None: none), when given a unit must share one with the other
    side, or have none of its own."""
    settled = set(settled)
    root = components(ties)

    def unit(m: str) -> tuple[str, str]:
        return (root.get(m, m), cluster_of[m])

    members: dict[tuple[str, str], set[str]] = {}
    on_side: dict[str, set[str]] = {}
    for m, c in cluster_of.items():
        if c in sides:
            if m in root or m in undated:
                members.setdefault(unit(m), set()).add(m)
            if streets is not None and streets.get(m):
                on_side.setdefault(c, set()).add(streets[m])
    reaching: dict[tuple[str, str], set[str]] = {}
    for a, b in reach:
        for x, y in ((a, b), (b, a)):
            cx, cy = cluster_of.get(x), cluster_of.get(y)
            if x in undated and cx in sides and cy in sides[cx]:
                reaching.setdefault(unit(x), set()).add(cy)
    out: set[str] = set()
    for u, others in reaching.items():
        ms = members[u]
        if not ms <= undated or ms & settled:
            continue
        if streets is not None:
            own = {streets[m] for m in ms if streets.get(m)}
            if own and not any(own & on_side.get(o, set()) for o in others):
                continue   # its address is another street than the other side's: it is where it is
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
                              same: Sequence[tuple[str, str]] = (), different: Sequence[tuple[str, str]] = (),
                              **kwargs: Any) -> Clustering:
    """cluster_mentions over ``model_edges`` plus the agency-id ``ties``; then every ambiguous
    unit (module docstring) is cut from the model links and the scope clustered again, until
    none is left (each round only cuts more). ``review``: the review threshold (the reach of a
    link to the other side). The cut mentions are added to the result's ``contested``."""
    scope = sorted(set(scope))
    settled = {m for p in list(same) + list(different) for m in p}
    edges = pl.concat([model_edges.select(ties.columns).cast(ties.schema), ties])
    apart = _one_name_apart(store, cannot_link)
    c = cluster_mentions(scope, edges, threshold, same=same, different=different, cannot_link=cannot_link, **kwargs)
    cut: set[str] = set()
    while apart.height:
        more = _ambiguous(store, c.cluster_of, apart, review, ties, settled) - cut
        if not more:
            break
        cut |= more
        # clustering decomposes over components (linkage/clusters.py): only those holding a cut
        # mention can change, so only they are clustered again (at 1M mentions, seconds saved)
        redo = _components_holding(scope, edges, same, threshold, more)
        again = cluster_mentions(redo, _without(model_edges, cut, ties), threshold, same=same, different=different,
                                 cannot_link=cannot_link, **kwargs)
        c = _merged(c, again, set(redo))
    c.contested = sorted(set(c.contested) | cut)
    return c


def _components_holding(scope: list[str], edges: pl.DataFrame, same: Sequence[tuple[str, str]], threshold: float,
                        seeds: set[str]) -> list[str]:
    """The mentions of ``scope`` in the connected components (links at or above ``threshold`` and
    'same' decisions) that hold any of ``seeds``."""
    index = pl.DataFrame({"mention_id": scope}, schema={"mention_id": pl.Utf8}).with_row_index("i")
    pairs = pl.concat([edges.filter(pl.col("match_probability") >= threshold).select("mention_a", "mention_b"),
                       pl.DataFrame(list(same), schema=["mention_a", "mention_b"], orient="row").cast(pl.Utf8)])
    ends = pairs.join(index, left_on="mention_a", right_on="mention_id").join(
        index, left_on="mention_b", right_on="mention_id", suffix="_b")
    n = len(scope)
    graph = coo_matrix((np.ones(ends.height, dtype=np.int8), (ends["i"].to_numpy(), ends["i_b"].to_numpy())),
                       shape=(n, n))
    _, component = connected_components(graph, directed=False)
    position = {m: i for i, m in enumerate(scope)}
    wanted = np.isin(component, [component[position[m]] for m in seeds if m in position])
    return [m for m, keep in zip(scope, wanted.tolist()) if keep]


def _merged(whole: Clustering, part: Clustering, redone: set[str]) -> Clustering:
    """``whole`` with the mentions in ``redone`` (whole components) as ``part`` clustered them."""
    def kept(links: list[tuple[str, str, float]]) -> list[tuple[str, str, float]]:
        return [e for e in links if e[0] not in redone and e[1] not in redone]

    out = Clustering({**whole.cluster_of, **part.cluster_of}, {**whole.probability, **part.probability},
                     {**whole.confirmed, **part.confirmed},
                     blocked=kept(whole.blocked) + part.blocked,
                     conflicting_same=[p for p in whole.conflicting_same if p[0] not in redone] + part.conflicting_same,
                     blocked_by_refs=kept(whole.blocked_by_refs) + part.blocked_by_refs,
                     blocked_by_cannot_link=kept(whole.blocked_by_cannot_link) + part.blocked_by_cannot_link,
                     contested=sorted({m for m in whole.contested if m not in redone} | set(part.contested)))
    return out


def _one_name_apart(store: Store, cannot_link: pl.DataFrame) -> pl.DataFrame:
    """The cannot-link pairs whose two records carry one forename and surname, birth years more
    than 15 apart (a father and son: "generation"; also the two on one event, which the pair's
    kind then names): mention_a, mention_b, forename, surname. A title is no forename: "sir
    baronet" names 173 such pairs of different men in historical_50k, and no one person."""
    schema = {"mention_a": pl.Utf8, "mention_b": pl.Utf8, "forename": pl.Utf8, "surname": pl.Utf8}
    if not cannot_link.height:
        return pl.DataFrame(schema=schema)
    store.register("_gen_pairs", cannot_link.select("mention_a", "mention_b"))
    try:
        return store.df(
            "SELECT p.mention_a, p.mention_b, a.forename, a.surname FROM _gen_pairs p "
            "JOIN mentions a ON a.mention_id = p.mention_a JOIN mentions b ON b.mention_id = p.mention_b "
            "WHERE a.forename = b.forename AND a.surname = b.surname AND length(a.forename) > 1 "
            f"AND a.forename NOT IN ({', '.join(repr(t) for t in TITLES)}) "
            "AND abs(year(a.dob) - year(b.dob)) > 15").cast(schema)
    finally:
        store.unregister("_gen_pairs")


def _ambiguous(store: Store, cluster_of: dict[str, str], apart: pl.DataFrame, review: float,
               ties: pl.DataFrame, settled: set[str]) -> set[str]:
    """Reads what ambiguous_units needs from the store: the persons outside the scope that hold a
    pair's end (their current members), the undated mentions in the clusters held apart, what
    reaches the other side (their links at or above ``review``, and the pair's name in either
    order) and the street words of every mention on either side."""
    pairs = apart.select("mention_a", "mention_b").rows()
    where = dict(cluster_of)
    where.update(_current_members(store, {m for p in pairs for m in p if m not in cluster_of}))
    sides = generation_sides(where, pairs)
    if not sides or "link_edges" not in store.tables():
        return set()
    near_sides = {m: c for m, c in where.items() if c in sides}   # all ambiguous_units reads: not the whole scope
    inside = pl.DataFrame({"mention_id": list(near_sides)}, schema={"mention_id": pl.Utf8})
    store.register("_gen_inside", inside)
    try:
        rows = store.df("SELECT mention_id, forename, surname, dob IS NULL AS undated, address "
                        "FROM mentions SEMI JOIN _gen_inside USING (mention_id)")
        undated_rows = rows.filter(pl.col("undated"))
        names = undated_rows.filter(pl.Series([m in cluster_of for m in undated_rows["mention_id"].to_list()],
                                              dtype=pl.Boolean))
        if not names.height:
            return set()
        store.register("_gen_undated", names.select("mention_id"))
        reach = store.df("SELECT mention_a, mention_b FROM link_edges WHERE match_probability >= ? AND "
                         "(mention_a IN (SELECT mention_id FROM _gen_undated) "
                         "OR mention_b IN (SELECT mention_id FROM _gen_undated))", [review])
        store.unregister("_gen_undated")
    finally:
        store.unregister("_gen_inside")
    undated = set(names["mention_id"].to_list())
    reached = reach.rows() + _named(where, apart, names.select("mention_id", "forename", "surname"))
    streets = dict(rows.select("mention_id", street_part().str.split("|").list.last().replace("", None)).rows())
    near = inside["mention_id"].implode()   # a unit in a side cluster has a tie touching it
    tie_pairs = ties.filter(pl.col("mention_a").is_in(near) | pl.col("mention_b").is_in(near)).select(
        "mention_a", "mention_b").rows()
    return {m for m in ambiguous_units(near_sides, sides, undated, reached, tie_pairs, settled, streets)
            if m in cluster_of}


def _named(cluster_of: Mapping[str, str], apart: pl.DataFrame, undated: pl.DataFrame) -> list[tuple[str, str]]:
    """(x, b) for every undated x in a's cluster that carries the name of the pair (a, b) held
    apart, in either order ("johnson sean"), and the same for b's side."""
    by_cluster: dict[str, list[tuple[str, tuple[str, str]]]] = {}
    for m, f, s in undated.iter_rows():
        by_cluster.setdefault(cluster_of[m], []).append((m, (f, s)))
    out = []
    for a, b, f, s in apart.iter_rows():
        for x, y in ((a, b), (b, a)):
            out += [(m, y) for m, n in by_cluster.get(cluster_of.get(x), ()) if n in ((f, s), (s, f))]
    return out


def _current_members(store: Store, mentions: set[str]) -> dict[str, str]:
    """mention -> 'person:' + its current person id, for every member of the persons holding
    ``mentions`` (mentions outside an incremental run's scope)."""
    if not mentions or "person_mentions" not in store.tables():
        return {}
    store.register("_gen_out", pl.DataFrame({"mention_id": sorted(mentions)}, schema={"mention_id": pl.Utf8}))
    try:
        rows = store.df("SELECT mention_id, person_id FROM person_mentions WHERE person_id IN "
                        "(SELECT person_id FROM person_mentions SEMI JOIN _gen_out USING (mention_id))").rows()
    finally:
        store.unregister("_gen_out")
    return {m: f"person:{p}" for m, p in rows}
