"""On a generated world (true persons as the links), every metric equals an independent
computation: plain Python over the store's rows, time counted day by day, percentiles from the
statistics module, months stepped back by hand."""

from __future__ import annotations

import calendar
import copy
import statistics
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from core.config import load_config
from core.person_ids import format_person_id
from core.store import Store
from findings.metrics import compute_hub_metrics
from findings.timescales import WorkingCalendar
from fixtures.world import generate_world
from ingest.drops import ingest_drop

FIRST, LAST = date(2023, 1, 1), date(2026, 10, 31)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("mworld")
    generate_world(base / "w", households=150, seed=21)
    db = base / "w.duckdb"
    with Store(db) as store:
        ingest_drop(store, base / "w" / "drop")
        truth = pl.read_csv(base / "w" / "truth" / "truth.csv", infer_schema=False)
        links = truth.select((pl.col("source") + ":" + pl.col("record_id")).alias("mention_id"),
                             pl.col("person").str.slice(1).cast(pl.Int64).map_elements(
                                 format_person_id, return_dtype=pl.Utf8).alias("person_id"))
        store.register("_links", links)
        store.execute("INSERT INTO person_mentions SELECT l.mention_id, l.person_id, NULL, FALSE FROM _links l "
                      "JOIN mentions USING (mention_id)")
        store.execute("INSERT INTO persons SELECT DISTINCT person_id, 'active', NULL, now(), NULL FROM person_mentions")
        rows = store.rows(
            "SELECT m.mention_id, m.source, m.role, m.event_type, m.person_ref, m.restriction, m.event_key, m.event_date, "
            "pm.person_id, e.referral_source, e.initial_rag, e.final_rag, e.decision_date, e.outcome "
            "FROM mentions m JOIN person_mentions pm USING (mention_id) JOIN events e USING (event_key)")
        cfg = copy.deepcopy(load_config())
        cfg["metrics"]["small_count_threshold"] = 1
        report = compute_hub_metrics(store, cfg, date_from=FIRST, date_to=LAST, by="quarter")
    return {"rows": rows, "report": report, "cfg": cfg}


def _quarter(d: date) -> str:
    return f"{d.year}-Q{(d.month - 1) // 3 + 1}"


def _metric(world, mid: str) -> list[dict[str, Any]]:
    return next(m for m in world["report"]["metrics"] if m["id"] == mid)["rows"]


def _events(world) -> dict[str, dict[str, Any]]:
    """Events in the range with a row that may leave the hub: event_key -> one of its rows."""
    out = {}
    for r in world["rows"]:
        if r["restriction"] != "hub_only" and FIRST <= r["event_date"].date() <= LAST:
            out.setdefault(r["event_key"], r)
    return out


def test_demand(world) -> None:
    expected = Counter((_quarter(r["event_date"].date()), r["source"]) for r in _events(world).values())
    got = {(r["period"], r["source"]): r["events"] for r in _metric(world, "demand_by_agency") if r["source"] != "all"}
    assert {k: v for k, v in got.items() if v} == dict(expected)
    contacts = [r for r in _events(world).values() if r["source"] == "social_care"]
    expected = Counter((_quarter(r["event_date"].date()), r["referral_source"] or "not recorded") for r in contacts)
    got = {(r["period"], r["referral_source"]): r["contacts"] for r in _metric(world, "contacts_by_referral_source")
           if r["referral_source"] != "all"}
    assert {k: v for k, v in got.items() if v} == dict(expected)
    assert sum(expected.values()) > 100


def _working_hours(cal: WorkingCalendar, t0: datetime, t1: datetime) -> float:
    total, d = 0.0, t0.date()
    while t1 > t0 and d <= t1.date():
        if d.isoweekday() <= 5 and cal.is_working_day(d):
            lo, hi = max(t0, datetime.combine(d, cal.start)), min(t1, datetime.combine(d, cal.end))
            total += max(0.0, (hi - lo).total_seconds() / 3600)
        d += timedelta(days=1)
    return total


def test_timeliness(world) -> None:
    cal = WorkingCalendar(world["cfg"]["chronology"]["working_calendar"])
    limits = {"red": 4.0, "amber": 8.0, "green": 24.0}
    by: dict[tuple[str, str], list[float]] = defaultdict(list)
    contacts: Counter = Counter()
    for r in _events(world).values():
        if r["source"] != "social_care":
            continue
        key = (_quarter(r["event_date"].date()), r["initial_rag"])
        contacts[key] += 1
        if r["decision_date"] is not None:
            t0, t1 = r["event_date"], r["decision_date"]
            hours = max(0.0, (t1 - t0).total_seconds() / 3600) if r["initial_rag"] == "red" else _working_hours(cal, t0, t1)
            by[key].append(hours)
    checked = 0
    for row in _metric(world, "timeliness"):
        key = (row["period"], row["initial_rag"])
        if row["initial_rag"] == "all":
            continue
        hours = by.get(key, [])
        assert (row["contacts"], row["decided"]) == (contacts.get(key, 0), len(hours)), key
        assert row["within"] == sum(1 for h in hours if h <= limits[row["initial_rag"]] + 1e-9), key
        if len(hours) >= 2:
            q = statistics.quantiles(hours, n=10, method="inclusive")
            assert row["median_hours"] == pytest.approx(statistics.median(hours), abs=0.01), key
            assert row["p90_hours"] == pytest.approx(q[8], abs=0.01), key
            checked += 1
    assert checked >= 6


def test_outcomes_and_conversion(world) -> None:
    contacts = [r for r in _events(world).values() if r["source"] == "social_care"]
    for col, mid in (("final_rag", "final_rag_mix"), ("outcome", "outcome_mix")):
        expected = Counter((_quarter(r["event_date"].date()), r[col] or "not recorded") for r in contacts)
        got = {(r["period"], r[col]): r["contacts"] for r in _metric(world, mid) if r[col] != "all" and r["contacts"]}
        assert got == dict(expected)
    ladder = world["cfg"]["metrics"]["conversion"]
    for row in _metric(world, "conversion"):
        mine = [r["outcome"] for r in contacts if _quarter(r["event_date"].date()) == row["period"] and r["outcome"]]
        assert row["decided"] == len(mine)
        for step, reached in ladder.items():
            assert row[f"to_{step}"] == sum(1 for o in mine if o in reached), (row["period"], step)


def _months_back(t: datetime, n: int) -> datetime:
    y, m = divmod(t.year * 12 + t.month - 1 - n, 12)
    return t.replace(year=y, month=m + 1, day=min(t.day, calendar.monthrange(y, m + 1)[1]))


def _repeats(cases: list[dict[str, Any]], key: str, months: int) -> dict[str, tuple[int, int]]:
    """(period -> cases, repeats) over (key, event) pairs, by walking each key's dated events."""
    def k(r: dict[str, Any]) -> str:
        if key == "person_ref":
            return f"{r['source']}:{r['person_ref']}" if r["person_ref"] is not None else "row:" + r["mention_id"]
        return r["person_id"]
    when: dict[tuple[str, str], datetime] = {}
    for r in cases:
        pair = (k(r), r["event_key"])
        when[pair] = min(when.get(pair, r["event_date"]), r["event_date"])
    times: dict[str, list[datetime]] = defaultdict(list)
    for (kk, _), t in when.items():
        times[kk].append(t)
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for (kk, _), t in when.items():
        if not FIRST <= t.date() <= LAST:
            continue
        earlier = [s for s in times[kk] if s < t]
        out[_quarter(t.date())][0] += 1
        out[_quarter(t.date())][1] += bool(earlier and max(earlier) >= _months_back(t, months))
    return {p: tuple(v) for p, v in out.items()}


@pytest.mark.parametrize("mid, section", [("re_referrals", "re_referral"), ("repeat_domestic_abuse", "domestic_abuse")])
def test_repeats_on_both_bases(world, mid: str, section: str) -> None:
    d = world["cfg"]["metrics"][section]
    cases = [r for r in world["rows"] if r["restriction"] != "hub_only" and r["source"] in d["sources"]
             and r["role"] in d["roles"] and (not d.get("event_types") or r["event_type"] in d["event_types"])
             and (not d.get("referral_outcomes") or r["outcome"] in d["referral_outcomes"])]
    total = 0
    for key, basis in (("person_id", "linked persons"), ("person_ref", "agency person_ref")):
        expected = _repeats(cases, key, d["window_months"])
        got = {r["period"]: (r["cases"], r["repeats"]) for r in _metric(world, mid) if r["basis"] == basis and r["cases"]}
        assert got == expected, basis
        total += sum(v[1] for v in expected.values())
    assert total > 0   # the world has repeats to find
