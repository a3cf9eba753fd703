"""GET /alerts in words: each piece of evidence by date, agency, kind, the role, name and address as
recorded (ids only as references), and through the viewer's lens: a MARAC coordinator neither sees
nor counts an alert whose evidence names a record hidden from them."""

from __future__ import annotations

from core.store import Store
from tests.api.conftest import ENGINE
from tests.api.test_routes import ids


def _marac_alert(items, sarah):
    [alert] = [a for a in items if a["rule"] == "marac_criteria" and a["person_id"] == sarah]
    return alert


def test_alert_evidence_in_words(api):
    sarah = ids(api)["sarah"]
    alert = _marac_alert(api.get("analyst", "/alerts?status=all&limit=500").json()["items"], sarah)
    words = alert["evidence_words"]
    assert [(e["date"], e["agency"], e["kind"]) for e in words["events"]] == [
        ("2025-01-10", "police", "domestic abuse"), ("2025-03-02", "police", "domestic abuse")]
    assert [e["ref"] for e in words["events"]] == ["police:E1", "police:E2"]      # the key, as a reference
    first = words["events"][0]["records"]
    # only the record the evidence names: not Mark's or Lily's records of the same incident
    assert first == [{"ref": "police:P1", "role": "victim", "name": "Sarah Hughes", "address": "4 Mill Lane, NB1 4QL"}]
    assert words["people"][0]["ref"] == sarah and words["people"][0]["name"] == "Sarah Hughes"
    assert words["people"][0]["words"].startswith("Sarah Hughes (")
    assert alert["subject"].startswith("Sarah Hughes (")
    # the reason names her, not her id alone
    assert "Sarah Hughes" in alert["explanation"]


def test_an_alert_resting_on_a_record_hidden_from_marac_is_neither_shown_nor_counted(world, tmp_path):
    import shutil

    from fastapi.testclient import TestClient

    from api.app import create_app
    from tests.api.conftest import PURPOSE

    db = tmp_path / "hidden.duckdb"
    shutil.copy(world["db"], db)
    with Store(db) as store:    # Sarah's second incident becomes hub_only: her MARAC alert names it
        store.execute("UPDATE mentions SET restriction = 'hub_only' WHERE mention_id = 'police:P4'")
    sarah = world["person"]["police:P1"]
    app = create_app(db, run_options={"link_engine": ENGINE})
    try:
        with TestClient(app) as client:
            def get(role):
                r = client.get("/alerts?status=all&limit=500",
                               headers={"Authorization": f"Bearer {world['tokens'][role]}", **PURPOSE})
                assert r.status_code == 200, r.text
                return r.json()
            analyst, marac = get("analyst"), get("marac")
            assert _marac_alert(analyst["items"], sarah)          # the hub sees it
            assert not [a for a in marac["items"] if a["person_id"] == sarah and a["rule"] == "marac_criteria"]
            assert marac["total"] == len(marac["items"])           # and it is not counted either
            assert "police:P4" not in str(marac) and "police:E2" not in str(marac)
    finally:
        app.state.runs.wait(60)
        app.state.snapshot.wait(60)
        app.state.audit_queue.close()
        app.state.store.close()


def _liaison_app(world, tmp_path):
    """The world's store served with one more role: alerts, no health clearance, not MARAC (a
    police liaison officer, say): acts on alerts, sees no health_confidential detail."""
    import shutil

    from api.app import create_app
    from access.users import add_user
    from core.config import load_config

    hub = tmp_path / "hub.toml"
    hub.write_text('[api.roles.liaison]\nrights = ["alerts"]\nhealth_clearance = false\n'
                   'domestic_abuse_only = false\n', encoding="utf-8")
    cfg = load_config(hub)
    db = tmp_path / "liaison.duckdb"
    shutil.copy(world["db"], db)
    with Store(db) as store:
        token = add_user(store, "liaison1", "liaison", config=cfg)["token"]
    return create_app(db, config=cfg, run_options={"link_engine": ENGINE}), token


def test_an_alert_hidden_from_a_role_cannot_be_acted_on_or_read_through_an_action(world, tmp_path):
    """Alert ids are sequential (A0000001, ...): acting on one the role's list leaves out must
    answer as for an alert that does not exist, write nothing, and say nothing of its evidence."""
    from fastapi.testclient import TestClient

    from tests.api.conftest import PURPOSE

    app, token = _liaison_app(world, tmp_path)
    head = {"Authorization": f"Bearer {token}", **PURPOSE}
    try:
        with TestClient(app) as client:
            listed = client.get("/alerts?status=all&limit=500", headers=head)
            assert listed.status_code == 200, listed.text
            shown = {a["alert_id"] for a in listed.json()["items"]}
            # the audit journal moves entries into audit_log in batches (every 0.5 s): settle it
            # before and after, so the comparison does not depend on when a batch moved
            app.state.audit_queue.sync()
            s = app.state.store.session()
            try:
                every = {r["alert_id"] for r in s.rows("SELECT alert_id FROM alerts")}
                before = s.content_digest()
                audited = s.rows("SELECT max(seq) AS seq FROM audit_log")[0]["seq"] or 0
            finally:
                s.close()
            hidden = sorted(every - shown)
            assert hidden, "the world has an alert resting on Sarah's health_confidential ED visit"
            for alert_id in hidden:
                r = client.post(f"/alerts/{alert_id}/acknowledge", headers=head, json={"reason": "seen it"})
                assert r.status_code == 404, r.text
                assert "health:H1" not in r.text and "emergency" not in r.text
                unknown = client.post("/alerts/A9999999/acknowledge", headers=head, json={"reason": "seen it"})
                assert r.json()["detail"].replace(alert_id, "X") == unknown.json()["detail"].replace("A9999999", "X")
            app.state.audit_queue.sync()
            s = app.state.store.session()
            try:
                after = s.content_digest()
                # nothing acknowledged: every table as it was but the audit log, which records
                # each refused attempt (and only refusals)
                assert {t: v for t, v in after.items() if t != "audit_log"} == \
                    {t: v for t, v in before.items() if t != "audit_log"}
                attempts = s.rows("SELECT method, endpoint, status FROM audit_log WHERE seq > ?", [audited])
                assert len(attempts) == 2 * len(hidden), attempts
                assert all(a["method"] == "POST" and a["status"] == 404 for a in attempts), attempts
            finally:
                s.close()
            for alert_id in shown:     # what it does see, it still acts on, and reads through its lens
                r = client.post(f"/alerts/{alert_id}/acknowledge", headers=head, json={"reason": "seen it"})
                assert r.status_code == 200, r.text
                assert "health:H1" not in r.text
    finally:
        app.state.runs.wait(60)
        app.state.snapshot.wait(60)
        app.state.review_queue.wait(60)
        app.state.audit_queue.close()
        app.state.store.close()


def test_marac_scope_counts_only_domestic_abuse_records_the_coordinator_sees(world, tmp_path):
    """Mark's one domestic-abuse record made hub_only: the MARAC coordinator's alert scope leaves
    him out, as it would a person with none (an alert about him listed would say he has one)."""
    import shutil

    from api.routes.alerts import marac_lens

    db = tmp_path / "scope.duckdb"
    shutil.copy(world["db"], db)
    mark, sarah = world["person"]["police:P2"], world["person"]["police:P1"]
    with Store(db) as store:
        assert mark in marac_lens(store)["person_ids"]
        store.execute("UPDATE mentions SET restriction = 'hub_only' WHERE mention_id = 'police:P2'")
        scope = marac_lens(store)["person_ids"]
    assert mark not in scope and sarah in scope


def test_a_reason_names_people_only_from_records_every_viewer_of_the_alert_sees(world, tmp_path):
    """A reason is written once, when the alert is raised, and shown to everyone its evidence lets
    see it: the names, ages and addresses in it come from unrestricted records only. Sarah's
    police records without her name: her MARAC alert (on those records, which MARAC sees) must not
    name her from her hub_only record or her health_confidential one."""
    import shutil

    from core.config import load_config
    from findings.alert_raising import raise_alerts

    db = tmp_path / "names.duckdb"
    shutil.copy(world["db"], db)
    sarah = world["person"]["police:P1"]
    with Store(db) as store:
        store.execute("UPDATE mentions SET forename_raw = NULL, surname_raw = NULL "
                      "WHERE mention_id IN ('police:P1', 'police:P4')")
        store.execute("DELETE FROM alert_events")
        store.execute("DELETE FROM alerts")
        raise_alerts(store, None, load_config(), baseline=True)
        [reason] = [r["explanation"] for r in store.rows(
            "SELECT explanation FROM alerts WHERE rule = 'marac_criteria' AND person_id = ?", [sarah])]
    assert "Hughes" not in reason and sarah in reason, reason
