"""What the hub metrics are computed from: the store's rows for a date range, as polars frames.

``load_metrics_data(store, first, last, settings)`` reads, in a handful of set-based queries,
only the columns the metrics need (findings/metrics.py computes; nothing here counts except the
current-state figures of the product itself, which are one aggregate each). What a report may
carry is decided here, once, for every metric (the lens):

- a ``hub_only`` row never counts: a metrics report leaves the hub (to the safeguarding
  partnership), as an export does; an event counts if one of its rows may leave;
- a ``health_confidential`` row counts as an event on its date (what any role may see of it);
  its detail (role, type) feeds a person-level metric only for a viewer with health clearance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

import polars as pl

from core.store import Store
from linkage.review import review_links

# an event counts when at least one of its rows may leave the hub
_SHAREABLE_EVENTS = """
SELECT e.event_key, e.source, e.event_date{extra}
FROM events e
WHERE e.event_date >= ? AND e.event_date < ? {where}
  AND EXISTS (SELECT 1 FROM mentions m WHERE m.event_key = e.event_key AND m.restriction <> 'hub_only')
"""

_CONTACT_COLUMNS = ", e.referral_source, e.initial_rag, e.final_rag, e.decision_date, e.outcome"

_PERSON_ROWS = """
SELECT m.mention_id, m.source, m.event_key, m.event_date, m.role, m.event_type, m.person_ref,
       coalesce(p.merged_into, pm.person_id) AS person_id, e.outcome, e.dash_risk
FROM mentions m
LEFT JOIN person_mentions pm USING (mention_id)
LEFT JOIN persons p ON p.person_id = pm.person_id AND p.status = 'merged'
LEFT JOIN events e USING (event_key)
WHERE m.event_date >= ? AND m.event_date < ? AND m.restriction <> 'hub_only' {lens}
  AND ({which})
"""


@dataclass
class MetricsData:
    """The rows behind one report. Frames may lack columns (an agency that never sends one):
    the metrics that need a missing or empty column say so and the rest are computed."""

    events: pl.DataFrame                 # event_key, source, event_date
    contacts: pl.DataFrame               # social care events: + referral_source, initial_rag, final_rag, decision_date, outcome
    person_rows: pl.DataFrame            # mentions for the repeat metrics: person_id, person_ref, source, role, event_type, ...
    alerts: pl.DataFrame                 # alert_id, rule, raised_at
    alert_events: pl.DataFrame           # alert_id, action, acted_at
    runs: pl.DataFrame                   # run_id, status, started_at, finished_at
    current: dict[str, Any] = field(default_factory=dict)   # the product's figures now (persons, review queue)
    as_at: date | None = None            # the latest event date in the store


def _which(defs: list[dict[str, Any]]) -> tuple[str, list[Any]]:
    """SQL for "a row one of the repeat definitions counts": source, role and event type lists."""
    parts, params = [], []
    for d in defs:
        clause = ["list_contains(?::VARCHAR[], m.source)", "list_contains(?::VARCHAR[], m.role)"]
        params += [list(d["sources"]), list(d["roles"])]
        if d.get("event_types"):
            clause.append("list_contains(?::VARCHAR[], m.event_type)")
            params.append(list(d["event_types"]))
        parts.append("(" + " AND ".join(clause) + ")")
    return " OR ".join(parts) or "FALSE", params


def latest_event_date(store: Store) -> date | None:
    found = store.scalar("SELECT max(event_date) FROM events")
    return found.date() if found is not None else None


def load_metrics_data(store: Store, first: date, last: date, settings: Any, config: Any, *,
                      health_clearance: bool = True, today: date | None = None) -> MetricsData:
    """Rows for a report of ``first`` .. ``last`` (inclusive dates). Person rows reach back
    ``settings.lookback_days`` further (a repeat needs the previous one)."""
    end = last + timedelta(days=1)
    back = first - timedelta(days=settings.lookback_days)
    events = store.df(_SHAREABLE_EVENTS.format(extra="", where=""), [first, end])
    contacts = store.df(_SHAREABLE_EVENTS.format(extra=_CONTACT_COLUMNS, where="AND e.source = 'social_care'"),
                        [first, end])
    which, params = _which([settings.re_referral, settings.domestic_abuse])
    lens = "" if health_clearance else "AND m.restriction <> 'health_confidential'"
    person_rows = store.df(_PERSON_ROWS.format(lens=lens, which=which), [back, end, *params])
    alerts = store.df("SELECT alert_id, rule, raised_at FROM alerts WHERE raised_at >= ? AND raised_at < ?",
                      [first, end])
    alert_events = store.df(
        "SELECT ae.alert_id, ae.action, ae.acted_at, a.rule, a.raised_at FROM alert_events ae "
        "JOIN alerts a USING (alert_id) WHERE ae.acted_at >= ? AND ae.acted_at < ?", [first, end])
    runs = store.df("SELECT run_id, status, started_at, finished_at FROM runs WHERE started_at >= ? AND started_at < ?",
                    [first, end])
    return MetricsData(events=events, contacts=contacts, person_rows=person_rows, alerts=alerts,
                       alert_events=alert_events, runs=runs,
                       current=current_figures(store, config, today or datetime.now(timezone.utc).date()),
                       as_at=latest_event_date(store))


def current_figures(store: Store, config: Any, today: date) -> dict[str, Any]:
    """The product's figures as they are now: persons, persons known to two agencies or more
    (counting only rows that may leave the hub), and the clerical review queue."""
    # person_mentions names current (active) persons only; two agencies = two different sources
    row = store.rows(
        "SELECT count(*) AS persons, count(*) FILTER (WHERE first_source <> last_source) AS cross_agency FROM ("
        " SELECT pm.person_id, min(m.source) AS first_source, max(m.source) AS last_source FROM person_mentions pm"
        " JOIN mentions m USING (mention_id) WHERE m.restriction <> 'hub_only' GROUP BY pm.person_id)")[0]
    return {"persons": row["persons"], "cross_agency_persons": row["cross_agency"],
            "review_queue": review_queue_figures(store, config, today)}


def review_queue_figures(store: Store, config: Any, today: date) -> dict[str, Any]:
    """The clerical review queue (linkage/review.py: one item per pair of persons whose strongest
    link lies in the review band): its size, and how long its items have waited, in days since
    the later of an item's two records arrived (the queue is derived each night, so that is the
    earliest an item could have been queued)."""
    links = review_links(store, config)
    if links.height == 0:
        return {"size": 0, "median_age_days": None, "oldest_age_days": None}
    store.register("_mq_links", links.select("mention_a", "mention_b"))
    try:
        ages = store.df(
            "SELECT date_diff('day', greatest(a.ingested_at, b.ingested_at)::DATE, ?::DATE) AS age FROM _mq_links l "
            "JOIN mentions a ON a.mention_id = l.mention_a JOIN mentions b ON b.mention_id = l.mention_b", [today])
    finally:
        store.unregister("_mq_links")
    age = ages["age"].cast(pl.Float64)
    return {"size": links.height, "median_age_days": round(float(age.median()), 1),
            "oldest_age_days": int(age.max())}
