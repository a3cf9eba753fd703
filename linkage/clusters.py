"""Clusters of mentions: constrained agglomeration over scored links and people's decisions.

Pure functions, no store. Connected components over links chain false merges (A~B and B~C make
A=C even when A and C are plainly different people), so clustering here is constrained:

1. 'same' decisions are applied first (people overrule the model; a 'same' always holds);
2. then links at or above the threshold, strongest first (ties broken by the mention ids, so the
   result never depends on input order), each merging its two clusters with union-find
3. unless the merge would put two mentions that a person said are 'different' into one cluster:
   that link is skipped ('different' is never overruled);
4. or unless it would join two mentions that cannot be one person (cannot-link pairs, given by the
   caller: two mentions of one event in one agency's extract, which the contract makes two people;
   the twin pattern; a generation apart): that link is skipped too. This holds over whole
   clusters, not pairs: twins on one contact stay apart even when a third record (a health record
   with day and month swapped, a police record with no dob) links strongly to each of them; the
   stronger link wins, unless the skipped one is nearly as strong: then the third record is
   *contested* (linkage/contested.py), left out of every link, a person of its own for review;
5. or unless it would give one person two different ids of an agency whose ids are trusted
   within it (the contract: council person ids, pseudonymised NHS numbers): that link is skipped
   too. Without this, a weakly identified record (no forename, the surname and address of a
   family) ties two brothers together through itself, and each's history lands on the other's
   chronology. Police nominals are not trusted this way (one person can have two). A record
   that matched the other person nearly as well as its own is *contested* here too, unless it
   carries an id of that agency itself (linkage/contested.py).

6. Then (linkage/generations.py) a record with no birth date between two persons of one name a
   generation apart, that reaches both, is cut from the model links and clustered again: a
   person of its own, contested, for review.

Callers add the links an agency's own ids make (linkage/agency_ids.py: the records it files
under one id are one person, probability 1.0), so those records enter as one unit.

Every mention gets a cluster; one with no accepted link is a cluster of its own. A mention's
``link_probability`` is the probability of the strongest accepted link touching it, i.e. the link
by which it was first tied into its cluster (links are taken strongest first); NULL for a
singleton, 1.0 and ``confirmed`` for an endpoint of a 'same' decision.

Clustering decomposes over the connected components of (links >= threshold) + 'same' decisions:
a merge only ever happens along such a link, and the 'different' check only looks inside the two
clusters being merged, so clustering a union of whole components gives exactly what clustering
everything would give for those mentions. Incremental linking relies on this.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from linkage.contested import contested_mentions
from linkage.union_find import UnionFind, components  # noqa: F401  (components: run.py's import)


@dataclass
class Clustering:
    """The result: ``cluster_of`` maps each mention to its cluster key (the cluster's smallest
    mention id); ``probability`` and ``confirmed`` say how each mention is tied in; ``blocked``
    lists links skipped because of a 'different' decision, and ``conflicting_same`` any 'same'
    decision that could not hold because it contradicted a 'different' (decide() refuses those,
    so this is empty unless the tables were edited by hand)."""

    cluster_of: dict[str, str]
    probability: dict[str, float | None]
    confirmed: dict[str, bool]
    blocked: list[tuple[str, str, float]] = field(default_factory=list)
    conflicting_same: list[tuple[str, str]] = field(default_factory=list)
    blocked_by_refs: list[tuple[str, str, float]] = field(default_factory=list)
    blocked_by_cannot_link: list[tuple[str, str, float]] = field(default_factory=list)
    contested: list[str] = field(default_factory=list)

    def clusters(self) -> list[list[str]]:
        """The clusters as sorted lists of mention ids, in order of their keys."""
        groups: dict[str, list[str]] = {}
        for mention, key in self.cluster_of.items():
            groups.setdefault(key, []).append(mention)
        return [sorted(groups[k]) for k in sorted(groups)]

    def frame(self) -> pl.DataFrame:
        """mention_id, cluster, link_probability, confirmed (sorted by mention_id)."""
        ids = sorted(self.cluster_of)
        return pl.DataFrame(
            {
                "mention_id": ids,
                "cluster": [self.cluster_of[m] for m in ids],
                "link_probability": [self.probability[m] for m in ids],
                "confirmed": [self.confirmed[m] for m in ids],
            },
            schema={"mention_id": pl.Utf8, "cluster": pl.Utf8, "link_probability": pl.Float64,
                    "confirmed": pl.Boolean},
        )


def _pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def cluster_mentions(
    mention_ids: Iterable[str],
    edges: pl.DataFrame | Sequence[tuple[str, str, float]],
    threshold: float,
    same: Iterable[tuple[str, str]] = (),
    different: Iterable[tuple[str, str]] = (),
    exclude_from_links: Iterable[str] = (),
    trusted_refs: Mapping[str, tuple[str, str]] | None = None,
    cannot_link: pl.DataFrame | Iterable[tuple[str, str]] = (),
) -> Clustering:
    """Cluster ``mention_ids`` (see :func:`cluster_mentions_exact` for the rules and arguments).

    Clustering decomposes over the connected components of the accepted-link graph (module
    docstring), and in a component with no constraint in it - no 'same' or 'different'
    decision, no cannot-link pair, no two ids of one trusted agency - every link is accepted: the clusters are the
    components, and a mention's probability is its strongest link's (the first taken). So the
    components are found with scipy, those are answered in bulk, and only the components that
    hold a constraint go through the link-by-link union-find. Same result as
    cluster_mentions_exact (tests/linkage/test_clusters.py checks it on random graphs); at
    1M mentions the difference is minutes of Python."""
    ids = sorted(set(mention_ids))
    same = [(a, b) for a, b in same if a != b]
    different = [(a, b) for a, b in different if a != b]
    refs = dict(trusted_refs or {})
    links = _link_frame(edges, threshold, ids, set(exclude_from_links))
    index = pl.DataFrame({"mention_id": ids}, schema={"mention_id": pl.Utf8}).with_row_index("i")
    position = dict(zip(ids, range(len(ids))))

    def ends(pairs: list[tuple[str, str]]) -> tuple[list[int], list[int]]:
        kept = [(position[a], position[b]) for a, b in pairs if a in position and b in position]
        return [a for a, _ in kept], [b for _, b in kept]

    la = links.join(index, left_on="mention_a", right_on="mention_id").join(
        index, left_on="mention_b", right_on="mention_id", suffix="_b")
    sa, sb = ends(same)
    rows = np.concatenate([la["i"].to_numpy(), np.asarray(sa, dtype=np.int64)]).astype(np.int64)
    cols = np.concatenate([la["i_b"].to_numpy(), np.asarray(sb, dtype=np.int64)]).astype(np.int64)
    n = len(ids)
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n, n))
    _, component = connected_components(graph, directed=False)

    # components holding a constraint: the exact algorithm decides them
    marked: set[int] = set()
    for a, b in same + different:
        if a in position and b in position:
            marked.add(int(component[position[a]]))
            marked.add(int(component[position[b]]))
    # a cannot-link pair constrains only inside one component (across two, no link can join it)
    pairs = _pair_frame(cannot_link).join(index, left_on="mention_a", right_on="mention_id").join(
        index, left_on="mention_b", right_on="mention_id", suffix="_b")
    ca, cb = component[pairs["i"].to_numpy()], component[pairs["i_b"].to_numpy()]
    inside = ca == cb
    marked.update(int(c) for c in np.unique(ca[inside]))
    apart = list(zip(pairs["mention_a"].filter(pl.Series(inside)).to_list(),
                     pairs["mention_b"].filter(pl.Series(inside)).to_list()))
    if refs:
        ref_rows = [(int(component[position[m]]), src, ref) for m, (src, ref) in refs.items() if m in position]
        seen: dict[tuple[int, str], str] = {}
        for comp, src, ref in ref_rows:
            held = seen.setdefault((comp, src), ref)
            if held != ref:
                marked.add(comp)

    result = Clustering({}, {}, {})
    comp_of = dict(zip(ids, component.tolist()))
    if marked:
        sub_ids = [m for m in ids if comp_of[m] in marked]
        sub = set(sub_ids)
        sub_links = links.join(pl.DataFrame({"mention_a": sub_ids}, schema={"mention_a": pl.Utf8}), on="mention_a",
                               how="semi")
        exact = cluster_mentions_exact(sub_ids, sub_links, threshold, same=[p for p in same if p[0] in sub],
                                       different=[p for p in different if p[0] in sub],
                                       trusted_refs={m: r for m, r in refs.items() if m in sub},
                                       cannot_link=[p for p in apart if p[0] in sub and p[1] in sub])
        result.cluster_of.update(exact.cluster_of)
        result.probability.update(exact.probability)
        result.confirmed.update(exact.confirmed)
        result.blocked, result.conflicting_same = exact.blocked, exact.conflicting_same
        result.blocked_by_refs = exact.blocked_by_refs
        result.blocked_by_cannot_link = exact.blocked_by_cannot_link
        result.contested = exact.contested
    # the rest: a cluster is a component (keyed by its smallest id); probability the strongest link
    free = [m for m in ids if comp_of[m] not in marked]
    key: dict[int, str] = {}
    for m in free:   # ids are sorted: the first seen is the smallest
        key.setdefault(comp_of[m], m)
    best = (pl.concat([links.select(pl.col("mention_a").alias("m"), "match_probability"),
                       links.select(pl.col("mention_b").alias("m"), "match_probability")])
            .group_by("m").agg(pl.col("match_probability").max()))
    strongest = dict(zip(best["m"].to_list(), best["match_probability"].to_list()))
    for m in free:
        result.cluster_of[m] = key[comp_of[m]]
        result.probability[m] = strongest.get(m)
        result.confirmed[m] = False
    return result


def _pair_frame(pairs: pl.DataFrame | Iterable[tuple[str, str]]) -> pl.DataFrame:
    """Pairs of mention ids as a frame (mention_a, mention_b), a pair with itself left out."""
    schema = {"mention_a": pl.Utf8, "mention_b": pl.Utf8}
    if isinstance(pairs, pl.DataFrame):
        frame = pairs.select(pl.col("mention_a").cast(pl.Utf8), pl.col("mention_b").cast(pl.Utf8))
    else:
        frame = pl.DataFrame([tuple(p[:2]) for p in pairs], schema=schema, orient="row")
    return frame.filter(pl.col("mention_a") != pl.col("mention_b"))


def _link_frame(edges: pl.DataFrame | Sequence[tuple[str, str, float]], threshold: float, ids: list[str],
                excluded: set[str]) -> pl.DataFrame:
    """The links the clustering may take: at or above ``threshold``, between two known mentions
    neither excluded, one row per pair (its strongest probability), mention_a < mention_b."""
    schema = {"mention_a": pl.Utf8, "mention_b": pl.Utf8, "match_probability": pl.Float64}
    if isinstance(edges, pl.DataFrame):
        frame = edges.select(pl.col("mention_a").cast(pl.Utf8), pl.col("mention_b").cast(pl.Utf8),
                             pl.col("match_probability").cast(pl.Float64))
    else:
        frame = pl.DataFrame([tuple(e[:3]) for e in edges], schema=schema, orient="row")
    allowed = pl.DataFrame({"m": sorted(set(ids) - excluded)}, schema={"m": pl.Utf8})
    a, b = pl.col("mention_a"), pl.col("mention_b")
    return (frame.filter(pl.col("match_probability").is_not_null() & (pl.col("match_probability") >= threshold)
                         & (a != b))
            .join(allowed, left_on="mention_a", right_on="m", how="semi")
            .join(allowed, left_on="mention_b", right_on="m", how="semi")
            .select(pl.when(a < b).then(a).otherwise(b).alias("mention_a"),
                    pl.when(a < b).then(b).otherwise(a).alias("mention_b"), "match_probability")
            .group_by("mention_a", "mention_b").agg(pl.col("match_probability").max()))


def cluster_mentions_exact(
    mention_ids: Iterable[str],
    edges: pl.DataFrame | Sequence[tuple[str, str, float]],
    threshold: float,
    same: Iterable[tuple[str, str]] = (),
    different: Iterable[tuple[str, str]] = (),
    exclude_from_links: Iterable[str] = (),
    trusted_refs: Mapping[str, tuple[str, str]] | None = None,
    cannot_link: pl.DataFrame | Iterable[tuple[str, str]] = (),
) -> Clustering:
    """Cluster ``mention_ids``.

    ``edges``: (mention_a, mention_b, match_probability) as a frame with those columns or as
    tuples; links below ``threshold``, touching a mention not in ``mention_ids`` or touching one in
    ``exclude_from_links`` (unlinkable mentions: the model may not tie them to anyone) are ignored.
    ``same`` / ``different``: people's decisions, pairs of mention ids (those naming a mention not
    in ``mention_ids`` are ignored). ``trusted_refs``: mention id -> (source, agency id) for the
    agencies whose ids are trusted within the agency; a model link never joins two different ids
    of one such agency (a 'same' decision still does). ``cannot_link``: pairs that no model link may
    bring into one cluster, directly or through other mentions (a 'same' decision still may).
    Deterministic: the same inputs in any order
    give the same result.
    """
    ids = sorted(set(mention_ids))
    known = set(ids)
    excluded = set(exclude_from_links)
    uf = UnionFind(ids)
    probability: dict[str, float | None] = dict.fromkeys(ids)
    confirmed = dict.fromkeys(ids, False)
    result = Clustering({}, probability, confirmed)
    settled: set[str] = set()

    for a, b in sorted({_pair(a, b) for a, b in different if a != b}):
        if a in known and b in known:
            uf.forbidden.setdefault(a, set()).add(b)
            uf.forbidden.setdefault(b, set()).add(a)

    for a, b in sorted({_pair(a, b) for a, b in _pair_frame(cannot_link).rows()}):
        if a in known and b in known:
            uf.apart.setdefault(a, set()).add(b)
            uf.apart.setdefault(b, set()).add(a)

    for m, (source, ref) in (trusted_refs or {}).items():
        if m in known:
            uf.refs[m] = {source: {ref}}

    for a, b in sorted({_pair(a, b) for a, b in same if a != b}):
        if a not in known or b not in known:
            continue
        ra, rb = uf.find(a), uf.find(b)
        if ra != rb:
            if uf.blocks(ra, rb):
                result.conflicting_same.append((a, b))
                continue
            uf.union(ra, rb)
        probability[a] = probability[b] = 1.0
        confirmed[a] = confirmed[b] = True

    for a, b, p in _sorted_links(edges, threshold, known, excluded):
        ra, rb = uf.find(a), uf.find(b)
        if ra == rb:
            continue
        if uf.blocks(ra, rb):
            result.blocked.append((a, b, p))
            continue
        if uf.blocks(ra, rb, uf.apart):
            result.blocked_by_cannot_link.append((a, b, p))
            continue
        clash = uf.refs_conflict(ra, rb)
        if clash:
            result.blocked_by_refs.append((a, b, p))
            # an end carrying its own id of the agency in question is no one else's (never contested)
            settled.update(x for x in (a, b) if (trusted_refs or {}).get(x, ("",))[0] in clash)
            continue
        uf.union(ra, rb)
        if probability[a] is None:
            probability[a] = p
        if probability[b] is None:
            probability[b] = p

    smallest: dict[str, str] = {}
    for m in ids:  # ids are sorted, so the first member seen is the smallest
        smallest.setdefault(uf.find(m), m)
    result.cluster_of = {m: smallest[uf.find(m)] for m in ids}
    contested = (contested_mentions(result.blocked_by_cannot_link, probability, confirmed)
                 | contested_mentions(result.blocked_by_refs, probability, confirmed, settled)) - excluded
    if contested:   # again without them: each contested mention is a person of its own
        again = cluster_mentions_exact(ids, edges, threshold, same, different, excluded | contested,
                                       trusted_refs, cannot_link)
        again.contested = sorted(contested | set(again.contested))
        return again
    return result


def _sorted_links(
    edges: pl.DataFrame | Sequence[tuple[str, str, float]],
    threshold: float,
    known: set[str],
    excluded: set[str],
) -> list[tuple[str, str, float]]:
    if isinstance(edges, pl.DataFrame):
        rows = edges.filter(pl.col("match_probability") >= threshold).select(
            "mention_a", "mention_b", "match_probability").rows()
    else:
        rows = [e for e in edges if e[2] is not None and e[2] >= threshold]
    best: dict[tuple[str, str], float] = {}
    for a, b, p in rows:
        if a == b or a not in known or b not in known or a in excluded or b in excluded:
            continue
        key = _pair(a, b)
        p = float(p)
        if p > best.get(key, -1.0):
            best[key] = p
    return sorted(((a, b, p) for (a, b), p in best.items()), key=lambda e: (-e[2], e[0], e[1]))
