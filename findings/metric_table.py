"""The shape every hub metric takes: a table of rows by period (and a category), with its columns
described, so one renderer draws each as a chart with a table under it, as CSV or as JSON.

A metric is ``available`` or not (``reason`` says why: an agency never sends the column it needs).
A count suppressed for disclosure control is ``None`` in its row, and its column name is listed
in the row's ``suppressed``; findings/disclosure.py decides which.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import polars as pl

# column kinds: period, dim (a category), count, share (0..1), hours, days, seconds, value
COUNT = "count"


@dataclass
class Column:
    name: str
    label: str
    kind: str


@dataclass
class MetricTable:
    id: str
    section: str
    title: str
    definition: str
    columns: list[Column]
    rows: list[dict[str, Any]] = field(default_factory=list)
    category: str | None = None          # the breakdown column whose rows sum to its "all" row
    pairs: list[tuple[str, str, str | None]] = field(default_factory=list)   # (part, whole, share column)
    stats: dict[str, str] = field(default_factory=dict)   # a median / percentile column -> the count it is of
    sums: dict[str, Any] = field(default_factory=dict)    # count column -> how to find its parts elsewhere
    chart: dict[str, Any] = field(default_factory=dict)   # {"kind": "stacked"|"bars"|"lines", "y": [...], "series": col}
    available: bool = True
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "section": self.section, "title": self.title, "definition": self.definition,
                "available": self.available, "reason": self.reason,
                "columns": [{"name": c.name, "label": c.label, "kind": c.kind} for c in self.columns],
                "chart": self.chart, "rows": self.rows}


def unavailable(table: MetricTable, reason: str) -> MetricTable:
    table.available, table.reason, table.rows = False, reason, []
    return table


@dataclass(frozen=True)
class Period:
    label: str
    start: date
    end: date          # inclusive
    partial: bool      # the report's range cuts it


def periods(first: date, last: date, by: str) -> list[Period]:
    """The months or quarters from ``first`` to ``last`` (inclusive), cut to the range."""
    out: list[Period] = []
    step = 1 if by == "month" else 3
    y, m = first.year, ((first.month - 1) // step) * step + 1
    while date(y, m, 1) <= last:
        ny, nm = (y + (m + step - 1) // 12, (m + step - 1) % 12 + 1)
        start, end_excl = date(y, m, 1), date(ny, nm, 1)
        end = date.fromordinal(end_excl.toordinal() - 1)
        label = f"{y}-{m:02d}" if by == "month" else f"{y}-Q{(m - 1) // 3 + 1}"
        out.append(Period(label, max(start, first), min(end, last), start < first or end > last))
        y, m = ny, nm
    return out


def period_labels(dates: np.ndarray, plist: list[Period]) -> np.ndarray:
    """The label of the period each datetime64 falls in ('' outside every period)."""
    d = np.asarray(dates, dtype="datetime64[D]")
    starts = np.array([p.start for p in plist], dtype="datetime64[D]")
    ends = np.array([p.end for p in plist], dtype="datetime64[D]")
    idx = np.searchsorted(starts, d, side="right") - 1
    labels = np.array([p.label for p in plist] + [""], dtype=object)
    ok = (idx >= 0) & (d <= ends[np.clip(idx, 0, None)])
    return labels[np.where(ok, idx, len(plist))]


def quantiles(values: np.ndarray) -> tuple[float | None, float | None]:
    """Median and 90th percentile, linear interpolation between closest ranks (numpy's default,
    ``statistics.quantiles(method='inclusive')``); None for no values."""
    if len(values) == 0:
        return None, None
    med, p90 = np.quantile(values, [0.5, 0.9])
    return round(float(med), 2), round(float(p90), 2)


def with_period_col(frame: pl.DataFrame, column: str, plist: list[Period]) -> pl.DataFrame:
    """The frame's rows in one of the periods, with the period's label in ``period``."""
    if frame.height == 0:
        return frame.with_columns(pl.lit("", dtype=pl.Utf8).alias("period"))
    labels = period_labels(frame[column].to_numpy(), plist)
    return frame.with_columns(pl.Series("period", labels, dtype=pl.Utf8)).filter(pl.col("period") != "")
