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
