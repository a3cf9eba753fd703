"""Every hub metric on a hand-built hub where each figure is known (tests/findings/conftest.py),
the lens (hub-only, health-confidential), missing columns, an empty period and refused input."""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from findings.metrics import compute_hub_metrics, parse_range
from findings.metrics_settings import MetricsSettings
from core.config import load_config
from core.errors import IntelError
from core.store import Store


def _config(threshold: int = 1, **metrics: Any) -> dict[str, Any]:
    cfg = copy.deepcopy(load_config())
    cfg["metrics"]["small_count_threshold"] = threshold
    cfg["metrics"].update(metrics)
    return cfg


def _report(db: Path, cfg: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
    kw.setdefault("date_from", "2026-01-01")
    kw.setdefault("date_to", "2026-03-31")
    kw.setdefault("today", date(2026, 4, 11))
    with Store(db, read_only=True) as store:
        return compute_hub_metrics(store, cfg or _config(), **kw)


def _metric(report: dict[str, Any], mid: str) -> dict[str, Any]:
    return next(m for m in report["metrics"] if m["id"] == mid)


def _grid(report: dict[str, Any], mid: str, dim: str, value: str) -> dict[tuple[str, str], Any]:
    return {(r["period"], r[dim]): r[value] for r in _metric(report, mid)["rows"]}


@pytest.fixture(scope="module")
def report(hub_db: Path) -> dict[str, Any]:
    return _report(hub_db)


def test_periods_and_the_report_header(report) -> None:
    r = report["report"]
    assert [p["label"] for p in r["periods"]] == ["2026-01", "2026-02", "2026-03"]
    assert not any(p["partial"] for p in r["periods"]) and r["empty"] is False
    assert r["data_as_at"] == "2026-03-30" and r["small_count_threshold"] == 1


def test_demand_counts_events_that_may_leave_the_hub(report) -> None:
    g = _grid(report, "demand_by_agency", "source", "events")
    assert [g[("2026-01", a)] for a in ("police", "social_care", "health", "all")] == [1, 3, 1, 5]
    # C11 is hub_only: not counted; D6 counts (its suspect's row may leave)
    assert [g[("2026-02", a)] for a in ("police", "social_care", "health", "all")] == [2, 2, 0, 4]
    assert [g[("2026-03", a)] for a in ("police", "social_care", "health", "all")] == [2, 4, 1, 7]
    s = _grid(report, "contacts_by_referral_source", "referral_source", "contacts")
    assert (s[("2026-01", "police")], s[("2026-01", "education")], s[("2026-01", "health")]) == (1, 1, 1)
    assert s[("2026-02", "police")] == 2 and s[("2026-02", "all")] == 2
    assert {k[1]: v for k, v in s.items() if k[0] == "2026-03" and v} == {
        "self": 1, "police": 1, "other_la": 1, "family": 1, "all": 4}


def test_timeliness_in_clock_and_working_hours(report) -> None:
    rows = {(r["period"], r["initial_rag"]): r for r in _metric(report, "timeliness")["rows"]}
    jan = rows[("2026-01", "red")]
    assert (jan["contacts"], jan["decided"], jan["within"], jan["median_hours"]) == (1, 1, 1, 3.0)
    # Friday 16:00 to Monday 10:00: one working hour each side of the weekend
    amber = rows[("2026-01", "amber")]
    assert (amber["within"], amber["median_hours"], amber["median_working_days"]) == (1, 2.0, 0.25)
    # Tuesday 09:00 to the next Monday 09:00: four working days, past the three allowed
    green = rows[("2026-01", "green")]
    assert (green["within"], green["share_within"], green["median_hours"], green["median_working_days"]) == (0, 0.0, 32.0, 4.0)
    assert (rows[("2026-02", "red")]["within"], rows[("2026-02", "red")]["median_hours"]) == (0, 6.0)
    undecided = rows[("2026-02", "amber")]
    assert (undecided["contacts"], undecided["decided"], undecided["median_hours"], undecided["share_within"]) == (1, 0, None, None)
    mar = rows[("2026-03", "green")]
    assert (mar["contacts"], mar["within"], mar["median_hours"], mar["p90_hours"]) == (2, 2, 9.0, 14.6)
    assert rows[("2026-03", "amber")]["median_hours"] == 7.0
    assert (rows[("2026-03", "all")]["contacts"], rows[("2026-03", "all")]["within"]) == (4, 4)


def test_outcomes_and_conversion(report) -> None:
    f = _grid(report, "final_rag_mix", "final_rag", "contacts")
    assert (f[("2026-02", "red")], f[("2026-02", "not recorded")], f[("2026-03", "blue")]) == (1, 1, 1)
    o = _grid(report, "outcome_mix", "outcome", "contacts")
    assert (o[("2026-01", "s47_enquiry")], o[("2026-03", "assessment")], o[("2026-03", "nfa")]) == (1, 3, 1)
    conv = {r["period"]: r for r in _metric(report, "conversion")["rows"]}
    assert [conv["2026-01"][k] for k in ("decided", "to_assessment", "to_strategy_discussion", "to_s47_enquiry")] == [3, 2, 1, 1]
    assert [conv["2026-02"][k] for k in ("decided", "to_assessment", "to_strategy_discussion", "to_s47_enquiry")] == [1, 1, 1, 0]
    assert [conv["2026-03"][k] for k in ("decided", "to_assessment", "to_strategy_discussion", "to_s47_enquiry")] == [4, 3, 0, 0]
    assert conv["2026-03"]["share_assessment"] == 0.75


def test_repeats_on_linked_persons_and_on_person_ref_side_by_side(report) -> None:
    rr = {(r["period"], r["basis"]): r for r in _metric(report, "re_referrals")["rows"]}
    # C5 (P1, ref A9) follows C1 (P1, ref A1): a re-referral only when linkage says A1 and A9 are one child
    assert (rr[("2026-02", "linked persons")]["cases"], rr[("2026-02", "linked persons")]["repeats"]) == (1, 1)
    assert (rr[("2026-02", "agency person_ref")]["cases"], rr[("2026-02", "agency person_ref")]["repeats"]) == (1, 0)
    # March: C7 follows C2 (a repeat); C8's previous referral C0 is 12 months and 24 days before; C10's is within
    for basis in ("linked persons", "agency person_ref"):
        assert (rr[("2026-03", basis)]["cases"], rr[("2026-03", basis)]["repeats"]) == (3, 2)
        assert (rr[("2026-01", basis)]["cases"], rr[("2026-01", basis)]["repeats"]) == (2, 0)
    assert rr[("2026-03", "linked persons")]["repeat_rate"] == round(2 / 3, 4)
    da = {(r["period"], r["basis"]): r for r in _metric(report, "repeat_domestic_abuse")["rows"]}
    assert [da[("2026-01", "linked persons")][k] for k in ("cases", "repeats", "persons", "repeat_persons")] == [1, 1, 1, 1]
    assert [da[("2026-02", "linked persons")][k] for k in ("cases", "repeats", "persons", "repeat_persons")] == [2, 1, 1, 1]
    assert [da[("2026-02", "agency person_ref")][k] for k in ("cases", "repeats", "persons", "repeat_persons")] == [2, 0, 2, 0]
    # D6: P10 is the suspect, and the victim's row is hub_only
    assert da[("2026-03", "linked persons")]["cases"] == 0


def test_the_products_own_figures(report) -> None:
    a = {(r["period"], r["rule"]): r for r in _metric(report, "alerts")["rows"]}
    assert [a[("2026-01", "repeat_victim")][k] for k in ("raised", "acknowledged", "closed", "median_hours_to_ack")] == [1, 1, 0, 4.0]
    assert [a[("2026-02", "repeat_victim")][k] for k in ("raised", "acknowledged", "closed", "median_hours_to_ack")] == [1, 1, 1, 48.0]
    assert (a[("2026-03", "harm_proximity")]["raised"], a[("2026-03", "all")]["raised"]) == (1, 1)
    runs = {r["period"]: r for r in _metric(report, "nightly_runs")["rows"]}
    assert [runs["2026-01"][k] for k in ("started", "completed", "failed", "median_seconds")] == [1, 1, 0, 60.0]
    assert [runs["2026-02"][k] for k in ("started", "completed", "failed", "median_seconds")] == [1, 0, 1, None]
    assert runs["2026-03"]["max_seconds"] == 120.0
    now = {r["measure"]: r for r in _metric(report, "persons_now")["rows"]}
    # P30's only row is hub_only; P1 and P2 are known to social care and health
    assert (now["persons"]["count"], now["persons known to two agencies or more"]["count"]) == (7, 2)
    assert now["persons known to two agencies or more"]["share"] == round(2 / 7, 4)
    # one pair of persons in the review band (P3, P4), its records in since 1 April
    assert now["review queue: pairs of persons awaiting a decision"]["count"] == 1
    assert now["review queue: oldest, days waiting"]["days"] == 10


def test_health_confidential_detail_only_for_a_viewer_with_clearance(hub_db: Path) -> None:
    da = {"sources": ["police", "health"], "roles": ["victim", "patient"], "event_types": ["domestic_abuse", "camhs"],
          "window_months": 12}
    cleared = _report(hub_db, _config(domestic_abuse=da))
    blind = _report(hub_db, _config(domestic_abuse=da), health_clearance=False)
    cases = lambda rep: {(r["period"], r["basis"]): r["cases"] for r in _metric(rep, "repeat_domestic_abuse")["rows"]}  # noqa: E731
    assert cases(cleared)[("2026-03", "linked persons")] == 1 and cases(blind)[("2026-03", "linked persons")] == 0
    # what anyone may see of a health_confidential row (that it happened, and when) still counts
    assert _grid(blind, "demand_by_agency", "source", "events")[("2026-03", "health")] == 1
    assert blind["report"]["health_detail"] is False


def test_a_column_an_agency_never_sent_is_marked_unavailable_and_the_rest_computed(tmp_path: Path, hub_db: Path) -> None:
    import shutil

    db = tmp_path / "no-rag.duckdb"
    shutil.copy(hub_db, db)
    with Store(db) as store:
        store.execute("UPDATE events SET initial_rag = NULL, referral_source = NULL")
    rep = _report(db)
    assert _metric(rep, "timeliness")["available"] is False
    assert "initial RAG" in _metric(rep, "timeliness")["reason"]
    assert _metric(rep, "contacts_by_referral_source")["available"] is False
    assert _metric(rep, "outcome_mix")["available"] and _metric(rep, "conversion")["rows"]


def test_a_period_with_no_data_is_an_empty_report_that_says_so(hub_db: Path) -> None:
    rep = _report(hub_db, date_from="2030-01-01", date_to="2030-02-28")
    assert rep["report"]["empty"] is True and "no events" in rep["report"]["note"]
    assert all(r["events"] == 0 for r in _metric(rep, "demand_by_agency")["rows"])
    assert _metric(rep, "timeliness")["available"] is True


@pytest.mark.parametrize("kw, message", [
    ({"date_from": "2026-03-01", "date_to": "2026-01-01"}, "--from 2026-03-01 is after --to 2026-01-01"),
    ({"by": "week"}, "--by 'week' is not a period; use one of: month, quarter"),
    ({"date_from": "1 March"}, "--from '1 March' is not a date (YYYY-MM-DD)"),
    ({"date_to": "2026-02-30"}, "--to '2026-02-30' is not a date"),
])
def test_bad_ranges_are_refused_with_what_is_wrong(hub_db: Path, kw: dict[str, Any], message: str) -> None:
    with Store(hub_db, read_only=True) as store:
        before = store.content_digest()
        with pytest.raises(IntelError, match=message.replace("(", r"\(").replace(")", r"\)")):
            compute_hub_metrics(store, _config(), **kw)
        assert store.content_digest() == before


def test_default_range_is_a_year_of_whole_months_to_today() -> None:
    assert parse_range(None, None, None, today=date(2026, 12, 7)) == (date(2026, 1, 1), date(2026, 12, 7), "month")
    assert parse_range(None, None, "quarter", today=date(2026, 3, 2))[0] == date(2025, 4, 1)


@pytest.mark.parametrize("bad, message", [
    ({"small_count_threshold": 0}, "small_count_threshold must be a whole number, 1 or more"),
    ({"small_count_threshold": "five"}, "small_count_threshold"),
    ({"re_referral": {"sources": [], "roles": ["x"]}}, r"\[metrics.re_referral\] sources must be a non-empty list"),
    ({"domestic_abuse": {"sources": ["police"], "roles": ["victim"], "window_months": 0}}, "window_months"),
])
def test_bad_metrics_config_is_refused(bad: dict[str, Any], message: str) -> None:
    with pytest.raises(IntelError, match=message):
        MetricsSettings.from_config(_config(**bad))
