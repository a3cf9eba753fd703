"""Repeat metrics, each counted twice side by side: on the persons linkage resolved across
agencies, and on the agency's own person_ref alone. The difference is what linkage adds.

- **Re-referral** (children-in-need census): a referral of a child within ``window_months`` of a
  previous referral of the same child. A referral is a ``[metrics.re_referral]`` row (social-care
  ``subject_child`` by default) whose contact's outcome is in ``referral_outcomes`` (every
  contact when the list is empty).
- **Repeat domestic-abuse victim** (SafeLives' repeat MARAC definition): a further incident
  within ``window_months`` of the previous one for the same victim (police ``domestic_abuse``
  ``victim`` rows by default).

"Within 12 months" means the previous one is dated strictly earlier and no earlier than the same
date 12 calendar months before. A row without the key of its basis (no person_ref) is a person of
its own on that basis: never a repeat.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

from findings.metric_table import COUNT, Column, MetricTable, Period
from findings.metrics_data import MetricsData

BASES = (("person_id", "linked persons"), ("person_ref", "agency person_ref"))


def _rows_of(frame: pl.DataFrame, d: dict[str, Any], outcomes: list[str] | None = None) -> pl.DataFrame:
    f = frame.filter(pl.col("source").is_in(d["sources"]) & pl.col("role").is_in(d["roles"]))
    if d.get("event_types"):
        f = f.filter(pl.col("event_type").is_in(d["event_types"]))
    if outcomes:
        f = f.filter(pl.col("outcome").is_in(outcomes))
    return f


def flag_repeats(rows: pl.DataFrame, key: str, months: int) -> pl.DataFrame:
    """One row per (key, event) with ``repeat``: the same key has an earlier one (strictly earlier
    time) on or after the same moment ``months`` months before."""
    value = pl.col(key).cast(pl.Utf8)
    if key == "person_ref":   # an agency's id means something within that agency only
        value = pl.col("source") + pl.lit(":") + value
    f = rows.with_columns(pl.coalesce(value, pl.lit("row:") + pl.col("mention_id")).alias("k"))
    f = f.group_by("k", "event_key").agg(pl.col("event_date").min())
    times = f.select("k", "event_date").unique().sort("k", "event_date").with_columns(
        pl.col("event_date").shift(1).over("k").alias("previous"))
    f = f.join(times, on=["k", "event_date"], how="left")
    return f.with_columns(
        (pl.col("previous").is_not_null()
         & (pl.col("previous") >= pl.col("event_date").dt.offset_by(f"-{months}mo"))).alias("repeat"))


def _table(tid: str, title: str, definition: str, unit: str, persons: str) -> MetricTable:
    return MetricTable(
        tid, "Repeats", title, definition,
        [Column("period", "Period", "period"), Column("basis", "Counted on", "dim"),
         Column("cases", unit, COUNT), Column("repeats", "Repeats", COUNT), Column("repeat_rate", "Repeat rate", "share"),
         Column("persons", persons, COUNT), Column("repeat_persons", f"Repeat {persons.lower()}", COUNT)],
        pairs=[("repeats", "cases", "repeat_rate"), ("repeat_persons", "persons", None)],
        chart={"kind": "lines", "y": ["repeat_rate"], "series": "basis"})


def _fill(table: MetricTable, rows: pl.DataFrame, months: int, plist: list[Period], first: date, last: date) -> None:
    """Rows period by period, the two bases side by side in each."""
    flagged = {}
    for key, label in BASES:
        if key in rows.columns and rows.height:
            flagged[label] = flag_repeats(rows, key, months).with_columns(pl.col("event_date").dt.date().alias("day"))
    for p in plist:
        for key, label in BASES:
            if label not in flagged:
                table.rows.append({"period": p.label, "basis": label, "cases": 0, "repeats": 0, "repeat_rate": None,
                                   "persons": 0, "repeat_persons": 0})
                continue
            sub = flagged[label].filter(pl.col("day").is_between(p.start, p.end))
            rep = sub.filter(pl.col("repeat"))
            cases, repeats = sub.height, rep.height
            table.rows.append({
                "period": p.label, "basis": label, "cases": cases, "repeats": repeats,
                "repeat_rate": round(repeats / cases, 4) if cases else None,
                "persons": sub["k"].n_unique(), "repeat_persons": rep["k"].n_unique()})


def repeat_tables(data: MetricsData, settings: Any, plist: list[Period], first: date, last: date) -> list[MetricTable]:
    rr, da = settings.re_referral, settings.domestic_abuse
    re_ref = _table("re_referrals", f"Re-referrals within {rr['window_months']} months",
                    "Referrals in the period (rows of [metrics.re_referral] whose outcome is a referral outcome) "
                    f"with a previous referral of the same child in the {rr['window_months']} months before "
                    "(children-in-need census definition), on linked persons and on the agency's person_ref.",
                    "Referrals", "Children")
    rows = data.person_rows
    if rows.height and "outcome" in rows.columns:
        _fill(re_ref, _rows_of(rows, rr, rr.get("referral_outcomes") or None), rr["window_months"], plist, first, last)
    elif rows.height:
        re_ref.available, re_ref.reason = False, "no outcome recorded (the column was not sent)"
    else:
        _fill(re_ref, rows, rr["window_months"], plist, first, last)
    da_t = _table("repeat_domestic_abuse", f"Repeat domestic-abuse victims within {da['window_months']} months",
                  f"Domestic-abuse incidents of a victim in the period with a previous one in the {da['window_months']} "
                  "months before (SafeLives' repeat MARAC definition; SafeLives expects 28-40% at MARAC, where only "
                  "high-risk cases are heard), on linked persons and on the agency's person_ref.",
                  "Victim incidents", "Victims")
    _fill(da_t, _rows_of(rows, da) if rows.height else rows, da["window_months"], plist, first, last)
    return [re_ref, da_t]
