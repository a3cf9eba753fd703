"""Statistical disclosure control for the hub metrics: small counts suppressed, as official
statistics do, so that no figure singles out a child or a victim.

Rules, applied to every table in this order (``threshold`` = [metrics] small_count_threshold):
1. **primary**: a count from 1 to threshold - 1 is suppressed (zero is shown: it discloses nobody);
2. **complement**: a part shown beside its whole (repeats of cases, decided within timescale of
   decided, ...) is suppressed when the whole minus the part is from 1 to threshold - 1;
3. **sums**: a count that is a sum of cells of another table (conversion to a step = the
   outcomes that reached it) makes groups whose totals can be worked out: its parts, the other
   outcomes (from the total), and the difference between two such counts one inside the other
   (to assessment minus to strategy discussion = assessment). Where exactly one cell of a group
   is suppressed, a second is too (the smallest other), or the count itself when there is none;
   rules 3 and 4 are applied again until nothing changes;
4. **secondary**: in a breakdown whose rows add up to an 'all' row in the same period, one
   suppressed cell could be recovered by subtraction, so the smallest other non-zero cell is
   suppressed too (or the 'all' cell, when there is none);
5. **derived**: a share is suppressed with its part or whole, a median or percentile with the
   count it is of, or when that count is below the threshold (a share or median that does not
   apply, such as a median of nothing, stays None and is not marked).
A suppressed value is None and its column is named in the row's ``suppressed``.
"""

from __future__ import annotations

from findings.metric_table import COUNT, MetricTable

ALL = "all"


def suppress(tables: list[MetricTable], threshold: int) -> None:
    by_id = {t.id: t for t in tables}
    live = [t for t in tables if t.available]
    marks = {t.id: [set() for _ in t.rows] for t in live}
    for t in live:
        counts = [c.name for c in t.columns if c.kind == COUNT]
        for row, m in zip(t.rows, marks[t.id]):
            for c in counts:                                             # 1. primary
                v = row.get(c)
                if v is not None and 0 < v < threshold:
                    m.add(c)
            for part, whole, _ in t.pairs:                               # 2. complement
                p, w = row.get(part), row.get(whole)
                if p is not None and w is not None and 0 < w - p < threshold:
                    m.add(part)
    for _ in range(20):                                                  # 3. and 4., until nothing changes
        changed = False
        for t in live:
            if t.category:
                changed |= _secondary(t, [c.name for c in t.columns if c.kind == COUNT], marks[t.id])
            other = by_id.get(next(iter(t.sums.values()))["table"]) if t.sums else None
            if other is not None and other.id in marks:
                changed |= _sums(t, other, marks[t.id], marks[other.id])
        if not changed:
            break
    for t in live:
        for row, m in zip(t.rows, marks[t.id]):                          # 5. derived
            for part, whole, share in t.pairs:
                if share and row.get(share) is not None and (part in m or whole in m):
                    m.add(share)
            for stat, of in t.stats.items():
                n = row.get(of)
                if row.get(stat) is not None and (of in m or (n is not None and 0 < n < threshold)):
                    m.add(stat)
            for c in m:
                row[c] = None
            row["suppressed"] = sorted(m)


def _hide_one_more(rows: list[dict], marks: list[set[str]], idx: list[int], col: str) -> bool:
    """Hide the smallest shown non-zero cell among ``idx``; False if there is none."""
    shown = [i for i in idx if col not in marks[i] and (rows[i].get(col) or 0) > 0]
    if not shown:
        return False
    marks[min(shown, key=lambda i: rows[i][col])].add(col)
    return True


def _sums(t: MetricTable, other: MetricTable, own: list[set[str]], theirs: list[set[str]]) -> bool:
    """Counts that add up cells of ``other`` (conversion to a step: the outcomes that reached it).
    Each shown count makes groups of cells whose total can be worked out: its parts, the rest
    (from the total), and, between two counts one inside the other, the difference. Where exactly
    one cell of a group is hidden, a second is hidden too (the smallest other), or the count
    itself when there is none."""
    value = next(c.name for c in other.columns if c.kind == COUNT)
    changed = False
    for i, row in enumerate(t.rows):
        cells = {other.rows[j].get(_category(t, other)): j for j, r in enumerate(other.rows)
                 if r.get("period") == row.get("period") and r.get(_category(t, other)) not in (ALL, "not recorded")}
        shown = {col: set(spec["parts"]) & set(cells) for col, spec in t.sums.items() if col not in own[i]}
        groups = [(col, parts) for col, parts in shown.items()]
        groups += [(col, set(cells) - parts) for col, parts in shown.items()]
        groups += [(a, pa - pb) for a, pa in shown.items() for b, pb in shown.items() if a != b and pb < pa]
        for col, group in groups:
            idx = [cells[c] for c in sorted(group)]
            if col not in own[i] and sum(1 for j in idx if value in theirs[j]) == 1:
                if not _hide_one_more(other.rows, theirs, idx, value):
                    own[i].add(col)
                changed = True
    return changed


def _category(t: MetricTable, other: MetricTable) -> str:
    return next(iter(t.sums.values()))["category"]


def _secondary(t: MetricTable, counts: list[str], marks: list[set[str]]) -> bool:
    groups: dict[str, list[int]] = {}
    for i, row in enumerate(t.rows):
        groups.setdefault(row.get("period"), []).append(i)
    changed = False
    for idx in groups.values():
        total = next((i for i in idx if t.rows[i].get(t.category) == ALL), None)
        cells = [i for i in idx if i != total]
        for c in counts:
            hidden = [i for i in cells if c in marks[i]]
            if len(hidden) != 1 or total is None or c in marks[total]:
                continue
            if not _hide_one_more(t.rows, marks, cells, c):
                marks[total].add(c)
            changed = True
    return changed
