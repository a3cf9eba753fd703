"""Union-find over mention ids with the per-cluster constraints clustering checks.

The one implementation of it in linkage/: constrained clustering (linkage/clusters.py) and the
reclustering scope of a link run (``components``, linkage/run.py). Each root carries what its
cluster may never hold: the mentions a person said are 'different', the cannot-link partners
(linkage/cannot_link.py), and the trusted agency ids its mentions carry.
"""

from __future__ import annotations

from collections.abc import Iterable


class UnionFind:
    """Union-find (path compression, union by size) with per-cluster constraints: the one
    implementation of it in linkage/ (clustering here, the reclustering scope in linkage/run.py)."""

    def __init__(self, items: Iterable[str]) -> None:
        self.parent = {m: m for m in items}
        self.size = dict.fromkeys(self.parent, 1)
        # root -> the mentions that its cluster must never contain ('different' partners)
        self.forbidden: dict[str, set[str]] = {}
        # root -> the mentions it cannot be one person with (cannot-link pairs; a 'same' may join them)
        self.apart: dict[str, set[str]] = {}
        # root -> {source: the trusted agency ids its mentions carry}
        self.refs: dict[str, dict[str, set[str]]] = {}

    def refs_conflict(self, ra: str, rb: str) -> set[str]:
        """The agencies of which joining would put two different trusted ids in one person (empty:
        none). A set that contains the other is no conflict: it can only have been joined by a
        'same' decision."""
        a, b = self.refs.get(ra), self.refs.get(rb)
        if not a or not b:
            return set()
        return {source for source in a.keys() & b.keys()
                if not (a[source] <= b[source] or b[source] <= a[source])}

    def find(self, x: str) -> str:
        parent = self.parent
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def blocks(self, ra: str, rb: str, table: dict[str, set[str]] | None = None) -> bool:
        """Would joining the clusters rooted at ra and rb put a 'different' pair (or, with
        ``table=self.apart``, a cannot-link pair) together?"""
        table = self.forbidden if table is None else table
        fa, fb = table.get(ra), table.get(rb)
        if not fa and not fb:
            return False
        if fa and len(fa) <= len(fb or ()) or not fb:
            return any(self.find(x) == rb for x in fa or ())
        return any(self.find(x) == ra for x in fb)

    def union(self, ra: str, rb: str) -> None:
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]
        for table in (self.forbidden, self.apart):
            fb = table.pop(rb, None)
            if fb:
                table.setdefault(ra, set()).update(fb)
        rf = self.refs.pop(rb, None)
        if rf:
            mine = self.refs.setdefault(ra, {})
            for source, ids in rf.items():
                mine.setdefault(source, set()).update(ids)


def components(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Each mention named in ``pairs`` -> a representative of its connected component."""
    pairs = list(pairs)
    uf = UnionFind({x for p in pairs for x in p})
    for a, b in pairs:
        ra, rb = uf.find(a), uf.find(b)
        if ra != rb:
            uf.union(ra, rb)
    return {x: uf.find(x) for x in uf.parent}
