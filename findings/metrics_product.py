"""The product's own figures: alerts raised, acknowledged and closed, time to acknowledge, by
rule; nightly runs and their durations; persons, cross-agency persons and the review queue now."""

from __future__ import annotations

from typing import Any

import polars as pl

from findings.metric_table import COUNT, Column, MetricTable, Period, quantiles, with_period_col

ALL = "all"


def alert_table(data: Any, plist: list[Period]) -> MetricTable:
    t = MetricTable(
        "alerts", "The product", "Alerts raised, acknowledged and closed, by rule",
        "Alerts raised in the period; acknowledgements and closures made in the period (whenever the alert was "
        "raised); hours from an alert being raised to its acknowledgement, for those acknowledged in the period.",
        [Column("period", "Period", "period"), Column("rule", "Rule", "dim"), Column("raised", "Raised", COUNT),
         Column("acknowledged", "Acknowledged", COUNT), Column("closed", "Closed", COUNT),
         Column("median_hours_to_ack", "Median hours to acknowledge", "hours"),
         Column("p90_hours_to_ack", "90th percentile hours to acknowledge", "hours")],
        category="rule", stats={"median_hours_to_ack": "acknowledged", "p90_hours_to_ack": "acknowledged"},
        chart={"kind": "stacked", "y": ["raised"], "series": "rule"})
    raised = with_period_col(data.alerts, "raised_at", plist)
    acts = with_period_col(data.alert_events, "acted_at", plist)
    rules = sorted(set(raised["rule"].to_list() if raised.height else []) | set(acts["rule"].to_list() if acts.height else []))
    for p in plist:
        r_p = raised.filter(pl.col("period") == p.label) if raised.height else raised
        a_p = acts.filter(pl.col("period") == p.label) if acts.height else acts
        total = {"raised": 0, "acknowledged": 0, "closed": 0}
        for rule in rules:
            acks = a_p.filter((pl.col("rule") == rule) & (pl.col("action") == "acknowledge")) if a_p.height else a_p
            hours = ((acks["acted_at"] - acks["raised_at"]).dt.total_seconds() / 3600).to_numpy() if acks.height else []
            med, p90 = quantiles(hours)
            row = {"period": p.label, "rule": rule,
                   "raised": r_p.filter(pl.col("rule") == rule).height if r_p.height else 0,
                   "acknowledged": acks.height,
                   "closed": a_p.filter((pl.col("rule") == rule) & (pl.col("action") == "close")).height if a_p.height else 0,
                   "median_hours_to_ack": med, "p90_hours_to_ack": p90}
            for k in total:
                total[k] += row[k]
            t.rows.append(row)
        t.rows.append({"period": p.label, "rule": ALL, **total, "median_hours_to_ack": None, "p90_hours_to_ack": None})
    return t


def run_table(data: Any, plist: list[Period]) -> MetricTable:
    t = MetricTable(
        "nightly_runs", "The product", "Nightly runs and their durations",
        "Nightly runs started in the period: completed, failed (rolled back, or abandoned by a killed process), and the "
        "wall-clock duration of the completed ones in seconds.",
        [Column("period", "Period", "period"), Column("started", "Started", "value"), Column("completed", "Completed", "value"),
         Column("failed", "Failed", "value"), Column("median_seconds", "Median seconds", "seconds"),
         Column("max_seconds", "Longest seconds", "seconds")],
        chart={"kind": "bars", "y": ["median_seconds", "max_seconds"], "series": None})
    runs = with_period_col(data.runs, "started_at", plist)
    for p in plist:
        r = runs.filter(pl.col("period") == p.label) if runs.height else runs
        done = r.filter(pl.col("status") == "completed") if r.height else r
        secs = (done["finished_at"] - done["started_at"]).dt.total_seconds(fractional=True).to_numpy() if done.height else []
        med, _ = quantiles(secs)
        t.rows.append({"period": p.label, "started": r.height, "completed": done.height,
                       "failed": r.filter(pl.col("status").is_in(["failed", "abandoned"])).height if r.height else 0,
                       "median_seconds": med, "max_seconds": round(float(max(secs)), 2) if len(secs) else None})
    return t


def current_table(data: Any) -> MetricTable:
    cur = data.current or {}
    t = MetricTable(
        "persons_now", "The product", "Persons and the review queue now",
        "Active persons (after linkage); those known to two agencies or more; the clerical review queue's size and the "
        "age of its items in days. As the store is now, whatever the report's range.",
        [Column("measure", "Measure", "dim"), Column("count", "Count", COUNT), Column("share", "Share of persons", "share"),
         Column("days", "Days", "value")],
        chart={"kind": "none"})
    persons, cross = cur.get("persons"), cur.get("cross_agency_persons")
    t.rows = [{"measure": "persons", "count": persons, "share": None, "days": None},
              {"measure": "persons known to two agencies or more", "count": cross,
               "share": round(cross / persons, 4) if persons and cross is not None else None, "days": None}]
    t.pairs = [("count", "count", "share")]   # a share goes with its count when that is suppressed
    queue = cur.get("review_queue") or {}
    t.rows += [{"measure": "review queue: pairs of persons awaiting a decision", "count": queue.get("size"),
                "share": None, "days": None},
               {"measure": "review queue: median days waiting", "count": None, "share": None,
                "days": queue.get("median_age_days")},
               {"measure": "review queue: oldest, days waiting", "count": None, "share": None,
                "days": queue.get("oldest_age_days")}]
    return t


def product_tables(data: Any, plist: list[Period]) -> list[MetricTable]:
    return [alert_table(data, plist), run_table(data, plist), current_table(data)]
