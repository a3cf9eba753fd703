"""Statistical disclosure control for the hub metrics: small counts suppressed, as official
statistics do, so that no figure singles out a child or a victim.

Rules, applied to every table in this order (``threshold`` = [metrics] small_count_threshold):
1. **primary**: a count from 1 to threshold - 1 is suppressed (zero is shown: it discloses nobody);
2. **complement**: a part shown beside its whole (repeats of cases, decided within timescale of
   decided, ...) is suppressed when the whole minus the part is from 1 to threshold - 1;
3. **sums**: a count that is a sum of cells of another table (conversion to a step = the
   outcomes that reached it) is suppressed when any of those cells is;
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
    for t in tables:
        if not t.available:
            continue
        counts = [c.name for c in t.columns if c.kind == COUNT]
        marks = [set() for _ in t.rows]
        for row, m in zip(t.rows, marks):
            for c in counts:                                             # 1. primary
                v = row.get(c)
                if v is not None and 0 < v < threshold:
                    m.add(c)
            for part, whole, _ in t.pairs:                               # 2. complement
                p, w = row.get(part), row.get(whole)
                if p is not None and w is not None and 0 < w - p < threshold:
                    m.add(part)
            for col, spec in t.sums.items():                             # 3. sums
                other = by_id.get(spec["table"])
                if other is not None and any(
                        r.get(spec["category"]) in spec["parts"] and r.get("period") == row.get("period") and r.get("suppressed")
                        for r in other.rows):
                    m.add(col)
        if t.category:                                                   # 4. secondary
            _secondary(t, counts, marks)
        for row, m in zip(t.rows, marks):                                # 5. derived
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


def _secondary(t: MetricTable, counts: list[str], marks: list[set[str]]) -> None:
    groups: dict[str, list[int]] = {}
    for i, row in enumerate(t.rows):
        groups.setdefault(row.get("period"), []).append(i)
    for idx in groups.values():
        total = next((i for i in idx if t.rows[i].get(t.category) == ALL), None)
        cells = [i for i in idx if i != total]
        for c in counts:
            hidden = [i for i in cells if c in marks[i]]
            if len(hidden) != 1 or total is None or c in marks[total]:
                continue
            shown = [i for i in cells if c not in marks[i] and (t.rows[i].get(c) or 0) > 0]
            if shown:
                marks[min(shown, key=lambda i: t.rows[i][c])].add(c)
            else:
                marks[total].add(c)
