"""Possible alerts: raised with the unconfirmed links they rest on, filtered, confirmed by 'same'
and closed by 'different', each with its reason."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from core.config import load_config
from core.store import Store
from findings.alerts import list_alerts
from findings.possible_alerts import sync_possible_alerts
from intel.cli import app
from linkage.review import settle
from tests.findings.test_review import world_store  # noqa: F401 (the shared session fixture)


@pytest.fixture
def raised(world_store, tmp_path):  # noqa: F811
    db, hub = world_store
    shutil.copy(db, tmp_path / "s.duckdb")
    cfg = load_config(hub)
    store = Store(tmp_path / "s.duckdb")
    report = sync_possible_alerts(store, "run-1", cfg)
    yield store, cfg, report, hub, tmp_path / "s.duckdb"
    store.close()


def test_possible_alerts_name_their_links_and_are_raised_once(raised):
    store, cfg, report, _, _ = raised
    assert report["raised"] == report["possible_findings"] > 0
    possible = list_alerts(store, possible=True)
    assert len(possible) == report["raised"]
    assert not any(a["possible"] for a in list_alerts(store, possible=False))
    for a in possible:
        assert a["possible"] and a["possible_links"] and a["evidence"]["possible"] is True
        for link in a["possible_links"]:
            assert link["mention_a"] in a["explanation"] and f"{link['match_probability']:.3f}" in a["explanation"]
            assert 0.9 <= link["match_probability"] < 0.999
            # in words: each record by its agency, kind and date, its id kept as the reference in brackets
            assert f"[{link['mention_a']}] and " in a["explanation"] and " on 20" in a["explanation"]
        assert a["explanation"].startswith(f"Possible {a['rule'].replace('_', ' ')}: ")
    again = sync_possible_alerts(store, "run-2", cfg)
    assert again["raised"] == 0 and again["closed"] == 0


def test_same_confirms_and_different_closes_with_the_reason(raised):
    store, cfg, _, _, _ = raised
    alerts = list_alerts(store, possible=True)
    same = next(a for a in alerts if len(a["possible_links"]) == 1)
    different = next(a for a in alerts if not set(a["person_ids"]) & set(same["person_ids"]))
    s_link, d_link = same["possible_links"][0], different["possible_links"][0]
    settle(store, s_link["mention_a"], s_link["mention_b"], "same", "a.analyst", "same NHS number", config=cfg)
    settle(store, d_link["mention_a"], d_link["mention_b"], "different", "a.analyst", "other mother", config=cfg)
    report = sync_possible_alerts(store, None, cfg)
    reasons = {c["alert_id"]: c["reason"] for c in report["closed_alerts"]}
    assert reasons[same["alert_id"]].startswith("confirmed:") and "now one person" in reasons[same["alert_id"]]
    assert reasons[different["alert_id"]].startswith("closed: decision")
    assert "different people" in reasons[different["alert_id"]]
    closed = {a["alert_id"]: a for a in list_alerts(store, status="closed", possible=True)}
    assert closed[different["alert_id"]]["history"][-1]["by"] == "intel (review)"


def test_cli_filters_possible_alerts(raised):
    store, _, report, _, db = raised
    store.close()
    cli = CliRunner()
    out = cli.invoke(app, ["alerts", "--possible", "--status", "all", "--db", str(db)])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["total"] == report["raised"]     # one JSON object: {total, items}
    out = cli.invoke(app, ["alerts", "--confirmed", "--status", "all", "--db", str(db)])
    assert all(not a["possible"] for a in json.loads(out.stdout)["items"])


def test_a_possible_alert_is_screened_by_the_records_its_finding_rests_on(raised):
    """The reason of a possible alert is its finding's (counts of harm events, their agencies and
    dates): a viewer without health clearance must not see one whose finding rests on a
    health_confidential record, even when the links it names are of records they see."""
    from access.lens import Lens

    store, _, _, _, _ = raised
    alerts = list_alerts(store, possible=True)
    for a in alerts:
        assert a["evidence"].get("events") or a["evidence"].get("mention_ids"), "what the finding rests on"
    # every record of the first alert's evidence but its links' own records made health_confidential
    a = alerts[0]
    links = {m for x in a["possible_links"] for m in (x["mention_a"], x["mention_b"])}
    rest = [r["mention_id"] for r in store.rows(
        "SELECT mention_id FROM mentions WHERE event_key IN (SELECT unnest(?::VARCHAR[])) "
        "OR mention_id IN (SELECT unnest(?::VARCHAR[]))",
        [a["evidence"].get("events") or [], a["evidence"].get("mention_ids") or []]) if r["mention_id"] not in links]
    assert rest
    store.execute("UPDATE mentions SET restriction = 'health_confidential' WHERE mention_id IN "
                  "(SELECT unnest(?::VARCHAR[]))", [rest])
    seen = {x["alert_id"] for x in list_alerts(store, possible=True, lens=Lens.of(health_clearance=False))}
    assert a["alert_id"] not in seen
    assert a["alert_id"] in {x["alert_id"] for x in list_alerts(store, possible=True, lens=Lens.of())}
