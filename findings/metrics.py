"""Hub performance metrics: what the MASH evaluations measured, computed from the store's rows.

``hub_metrics(data, settings, first, last, by)`` returns the report: demand, timeliness, outcomes
and conversion (here), repeats (findings/metrics_repeats.py) and the product's own figures
(findings/metrics_product.py), each a :class:`MetricTable` by month or quarter, with small
counts suppressed (findings/disclosure.py). Pure: frames in (findings/metrics_data.py reads
them), plain data out. Every definition, with its source, is in docs/metrics.md.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

import numpy as np
import polars as pl

from findings.disclosure import suppress
from findings.metric_table import (COUNT, Column, MetricTable, Period, periods, quantiles, unavailable,
                                   with_period_col)
from findings.metrics_data import MetricsData, load_metrics_data
from findings.metrics_product import product_tables
from findings.metrics_repeats import repeat_tables
from findings.metrics_settings import BY_CHOICES, MetricsSettings
from findings.timescales import elapsed_hours
from core.errors import IntelError

AGENCIES = ("police", "social_care", "health")
REFERRAL_SOURCES = ("police", "health", "education", "self", "family", "public", "anonymous", "other_la", "other")
FINAL_RAGS = ("blue", "green", "amber", "red")
OUTCOMES = ("nfa", "universal_services", "early_help", "assessment", "strategy_discussion", "s47_enquiry",
            "care_proceedings", "other")
NOT_RECORDED = "not recorded"
ALL = "all"


def parse_range(date_from: date | str | None, date_to: date | str | None, by: str | None,
                today: date | None = None) -> tuple[date, date, str]:
    """The report's first and last day and its period: refuses an unknown ``by``, a date that is
    not YYYY-MM-DD and a range that ends before it starts. Defaults: ``to`` today (UTC), ``from``
    the first day of the 12th month back (a year of whole months with this one)."""
    by = by or "month"
    if by not in BY_CHOICES:
        raise IntelError(f"--by {by!r} is not a period; use one of: {', '.join(BY_CHOICES)}")
    first, last = _date(date_from, "--from"), _date(date_to, "--to")
    if last is None:
        last = today or datetime.now(timezone.utc).date()
    if first is None:
        y, m = last.year, last.month - 11
        first = date(y - (m <= 0), m + 12 * (m <= 0), 1)
    if first > last:
        raise IntelError(f"--from {first.isoformat()} is after --to {last.isoformat()}")
    return first, last, by


def _date(value: date | str | None, name: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    if not str(value).strip():   # a form's empty field: the default
        return None
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise IntelError(f"{name} {value!r} is not a date (YYYY-MM-DD)") from None


def has(frame: pl.DataFrame, column: str) -> bool:
    """The frame has the column with at least one value."""
    return column in frame.columns and frame.height > 0 and frame[column].null_count() < frame.height


def breakdown(frame: pl.DataFrame, column: str, order: tuple[str, ...], plist: list[Period],
              count: str) -> list[dict[str, Any]]:
    """Rows period x category (every known category, zeros included, then others seen, then
    'not recorded') and an 'all' row per period."""
    values = frame[column].fill_null(NOT_RECORDED) if frame.height else pl.Series([], dtype=pl.Utf8)
    f = frame.select("period").with_columns(values.alias("cat")) if frame.height else pl.DataFrame(
        {"period": [], "cat": []}, schema={"period": pl.Utf8, "cat": pl.Utf8})
    counts = {(r["period"], r["cat"]): r["n"] for r in f.group_by("period", "cat").len("n").iter_rows(named=True)}
    seen = sorted({c for _, c in counts} - set(order) - {NOT_RECORDED})
    cats = [*order, *seen, *([NOT_RECORDED] if any(c == NOT_RECORDED for _, c in counts) else [])]
    rows = []
    for p in plist:
        for c in cats:
            rows.append({"period": p.label, column: c, count: counts.get((p.label, c), 0)})
        rows.append({"period": p.label, column: ALL, count: sum(counts.get((p.label, c), 0) for c in cats)})
    return rows


def _period_col() -> Column:
    return Column("period", "Period", "period")


# --- demand ------------------------------------------------------------------------------------

def demand_tables(data: MetricsData, plist: list[Period]) -> list[MetricTable]:
    events = with_period_col(data.events, "event_date", plist)
    by_agency = MetricTable(
        "demand_by_agency", "Demand", "Events received, by agency",
        "Events (police notifications, social-care contacts, health encounters) dated in the period, by the agency that sent them.",
        [_period_col(), Column("source", "Agency", "dim"), Column("events", "Events", COUNT)],
        breakdown(events, "source", AGENCIES, plist, "events"), category="source",
        chart={"kind": "stacked", "y": ["events"], "series": "source"})
    contacts = with_period_col(data.contacts, "event_date", plist)
    by_source = MetricTable(
        "contacts_by_referral_source", "Demand", "Social-care contacts, by referral source",
        "Contacts to children's social care received in the period, by who made them (referral_source).",
        [_period_col(), Column("referral_source", "Referral source", "dim"), Column("contacts", "Contacts", COUNT)],
        category="referral_source", chart={"kind": "stacked", "y": ["contacts"], "series": "referral_source"})
    if contacts.height and not has(contacts, "referral_source"):
        unavailable(by_source, "no contact in the range has a referral source (the column was not sent)")
    else:
        by_source.rows = breakdown(contacts, "referral_source", REFERRAL_SOURCES, plist, "contacts")
    return [by_agency, by_source]


# --- timeliness --------------------------------------------------------------------------------

def timeliness_table(data: MetricsData, settings: MetricsSettings, plist: list[Period]) -> MetricTable:
    t = MetricTable(
        "timeliness", "Timeliness", "Time from contact to hub decision, by initial RAG",
        "For each contact: time from receipt (event_date) to the hub's decision (decision_date), counted as its "
        "initial RAG's timescale is (clock hours, or working hours on the hub's calendar without bank holidays); "
        "within timescale = decided no later than the timescale allows; share of decided contacts.",
        [_period_col(), Column("initial_rag", "Initial RAG", "dim"), Column("timescale", "Timescale", "dim"),
         Column("contacts", "Contacts", COUNT), Column("decided", "Decided", COUNT),
         Column("within", "Within timescale", COUNT), Column("share_within", "Share within", "share"),
         Column("median_hours", "Median hours", "hours"), Column("p90_hours", "90th percentile hours", "hours"),
         Column("median_working_days", "Median working days", "days")],
        category="initial_rag", pairs=[("within", "decided", "share_within"), ("decided", "contacts", None)],
        stats={"median_hours": "decided", "p90_hours": "decided", "median_working_days": "decided"},
        chart={"kind": "lines", "y": ["share_within"], "series": "initial_rag"})
    c = with_period_col(data.contacts, "event_date", plist)
    if c.height and not has(c, "initial_rag"):
        return unavailable(t, "no contact in the range has an initial RAG (the column was not sent)")
    if c.height and not has(c, "decision_date"):
        return unavailable(t, "no contact in the range has a decision date (the column was not sent)")
    rag = c["initial_rag"].fill_null(NOT_RECORDED) if c.height else pl.Series([], dtype=pl.Utf8)
    c = c.with_columns(rag.alias("rag")) if c.height else pl.DataFrame(
        schema={"period": pl.Utf8, "rag": pl.Utf8, "event_date": pl.Datetime, "decision_date": pl.Datetime})
    graded = [r for r in settings.timescales]
    others = sorted(set(c["rag"].unique().to_list()) - set(graded))
    for p in plist:
        in_p = c.filter(pl.col("period") == p.label)
        total = {"contacts": 0, "decided": 0, "within": 0}
        for r in [*graded, *others]:
            spec = settings.timescales.get(r)
            sub = in_p.filter(pl.col("rag") == r)
            dec = sub.filter(pl.col("decision_date").is_not_null())
            row = {"period": p.label, "initial_rag": r, "timescale": spec["label"] if spec else "none configured",
                   "contacts": sub.height, "decided": dec.height}
            if spec:
                hours = elapsed_hours(dec["event_date"].to_numpy(), dec["decision_date"].to_numpy(),
                                      spec["counted"], settings.calendar) if dec.height else np.array([])
                within = int((hours <= spec["limit_hours"] + 1e-9).sum())
                med, p90 = quantiles(hours)
                row.update(within=within, share_within=_share(within, dec.height), median_hours=med, p90_hours=p90,
                           median_working_days=(round(med / settings.calendar.day_hours, 2)
                                                if med is not None and spec["counted"] == "working hours" else None))
                total["within"] += within
            else:
                row.update(within=None, share_within=None, median_hours=None, p90_hours=None, median_working_days=None)
            for k in ("contacts", "decided"):
                total[k] += row[k]
            t.rows.append(row)
        t.rows.append({"period": p.label, "initial_rag": ALL, "timescale": "", **total,
                       "share_within": None, "median_hours": None, "p90_hours": None, "median_working_days": None})
    return t


def _share(part: int | None, whole: int | None) -> float | None:
    return round(part / whole, 4) if part is not None and whole else None


# --- outcomes ----------------------------------------------------------------------------------

def outcome_tables(data: MetricsData, settings: MetricsSettings, plist: list[Period]) -> list[MetricTable]:
    c = with_period_col(data.contacts, "event_date", plist)
    out = []
    for col, order, title, what in (
            ("final_rag", FINAL_RAGS, "Final RAG of contacts", "final RAG (blue = no further action at level 1)"),
            ("outcome", OUTCOMES, "Outcome of contacts", "recorded outcome")):
        t = MetricTable(f"{col}_mix", "Outcomes", title,
                        f"Contacts received in the period by their {what}; 'not recorded' = no decision yet.",
                        [_period_col(), Column(col, col.replace("_", " ").capitalize(), "dim"),
                         Column("contacts", "Contacts", COUNT)], category=col,
                        chart={"kind": "stacked", "y": ["contacts"], "series": col})
        if c.height and not has(c, col):
            unavailable(t, f"no contact in the range has a {col.replace('_', ' ')} (the column was not sent)")
        else:
            t.rows = breakdown(c, col, order, plist, "contacts")
        out.append(t)
    conv = MetricTable(
        "conversion", "Outcomes", "Conversion from contact to assessment, strategy discussion and s47 enquiry",
        "Of the contacts received in the period with an outcome recorded, how many went at least as far as each step "
        "(an outcome further along the ladder counts for the steps before it: [metrics.conversion]).",
        [_period_col(), Column("decided", "Contacts with an outcome", COUNT)], chart={"kind": "lines", "y": [], "series": None})
    for step in settings.conversion:
        label = step.replace("_", " ")
        conv.columns += [Column(f"to_{step}", f"To {label}", COUNT), Column(f"share_{step}", f"Share to {label}", "share")]
        conv.pairs.append((f"to_{step}", "decided", f"share_{step}"))
        conv.sums[f"to_{step}"] = {"table": "outcome_mix", "category": "outcome", "parts": settings.conversion[step]}
        conv.chart["y"].append(f"share_{step}")
    if c.height and not has(c, "outcome"):
        unavailable(conv, "no contact in the range has an outcome (the column was not sent)")
    else:
        for p in plist:
            sub = c.filter(pl.col("period") == p.label) if c.height else c
            outcomes = sub["outcome"].drop_nulls().to_list() if sub.height else []
            row: dict[str, Any] = {"period": p.label, "decided": len(outcomes)}
            for step, reached in settings.conversion.items():
                n = sum(1 for o in outcomes if o in reached)
                row[f"to_{step}"], row[f"share_{step}"] = n, _share(n, len(outcomes))
            conv.rows.append(row)
    out.append(conv)
    return out


# --- the report --------------------------------------------------------------------------------

def hub_metrics(data: MetricsData, settings: MetricsSettings, first: date, last: date, by: str) -> dict[str, Any]:
    """Every metric for ``first`` .. ``last`` by ``by``, small counts suppressed."""
    plist = periods(first, last, by)
    tables = [*demand_tables(data, plist), timeliness_table(data, settings, plist),
              *outcome_tables(data, settings, plist), *repeat_tables(data, settings, plist, first, last),
              *product_tables(data, plist)]
    suppress(tables, settings.small_count_threshold)
    empty = data.events.filter(pl.col("event_date").dt.date().is_between(first, last)).height == 0 \
        if data.events.height else True
    return {
        "report": {
            "from": first.isoformat(), "to": last.isoformat(), "by": by,
            "periods": [{"label": p.label, "start": p.start.isoformat(), "end": p.end.isoformat(), "partial": p.partial}
                        for p in plist],
            "data_as_at": data.as_at.isoformat() if data.as_at else None,
            "small_count_threshold": settings.small_count_threshold,
            "empty": empty,
            "note": (f"no events are recorded from {first.isoformat()} to {last.isoformat()}: every count is zero"
                     if empty else None),
        },
        "metrics": [t.as_dict() for t in tables],
    }


def compute_hub_metrics(store: Any, config: Any, *, date_from: date | str | None = None,
                        date_to: date | str | None = None, by: str | None = None,
                        health_clearance: bool = True, today: date | None = None) -> dict[str, Any]:
    """Read the rows (findings/metrics_data.py) and compute the report. Refuses a bad range or
    period (IntelError) before reading any rows; reads only."""
    settings = MetricsSettings.from_config(config)
    first, last, by = parse_range(date_from, date_to, by, today)
    data = load_metrics_data(store, first, last, settings, config, health_clearance=health_clearance, today=today)
    report = hub_metrics(data, settings, first, last, by)
    report["report"]["health_detail"] = health_clearance
    return report
