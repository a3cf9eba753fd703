"""The lens: visibility by restriction, alert screening, and the domestic-abuse check through it."""

from __future__ import annotations

from access.lens import Lens, alert_restrictions, evidence_tokens, restricted_ids, screen_alerts


def test_visibility_follows_the_viewer():
    analyst, export, marac = Lens.of(), Lens.of(export=True), Lens.of(health_clearance=False, export=True)
    assert analyst.is_open and not export.is_open
    assert [export.visibility(r) for r in ("none", "hub_only", "health_confidential")] == ["full", "hidden", "full"]
    assert [marac.visibility(r) for r in ("none", "hub_only", "health_confidential")] == ["full", "hidden", "masked"]
    assert marac.withheld == {"hub_only", "health_confidential"} and analyst.full_sql() == "TRUE"


def test_an_alert_is_shown_only_where_all_of_its_evidence_is(store):
    rows = [("police:1", "police:E1", "none"), ("police:2", "police:E1", "hub_only"),
            ("police:3", "police:E2", "hub_only"), ("health:1", "health:A1", "health_confidential")]
    for mid, ek, r in rows:
        store.execute("INSERT INTO mentions (mention_id, source, record_id, event_key, event_id, event_date, role, "
                      "event_type, restriction, drop_id, file_name, file_sha256, row_number, ingested_at, version) "
                      "VALUES (?, 'police', ?, ?, 'e', now(), 'victim', 'violence', ?, 'd', 'f', 's', 1, now(), 1)",
                      [mid, mid, ek, r])
    alerts = [{"alert_id": "A1", "evidence": {"mention_ids": ["police:1"], "events": [{"event_key": "police:E1"}]}},
              {"alert_id": "A2", "evidence": {"mention_ids": ["police:2"]}},
              {"alert_id": "A3", "evidence": {"events": ["police:E2"]}},
              {"alert_id": "A4", "evidence": {"mention_ids": ["health:1"]}}]
    restricted = restricted_ids(store, {t for a in alerts for t in evidence_tokens(a["evidence"])})
    assert restricted == {"police:2": "hub_only", "police:E2": "hub_only", "health:1": "health_confidential"}
    for a in alerts:
        a["restrictions"] = alert_restrictions(a, restricted)
    shown = lambda lens: [a["alert_id"] for a in screen_alerts(alerts, lens)]  # noqa: E731
    assert shown(Lens.of()) == ["A1", "A2", "A3", "A4"]
    assert shown(Lens.of(export=True)) == ["A1", "A4"]
    assert shown(Lens.of(health_clearance=False, export=True)) == ["A1"]
    assert screen_alerts([{"alert_id": "A9"}], Lens.of(export=True)) == []    # never looked at: not shown
