"""GET /alerts from the kept queue (api/alert_cache.py) answers as it does from SQL, for a role
with every record and for restricted ones, counts included; an alert acknowledged or closed shows
its new status at once, with no rebuild; a commit (a nightly run) is answered from SQL until the
queue is read again, then from it."""

from __future__ import annotations

QUERIES = ("/alerts?status=all", "/alerts?status=open&limit=2", "/alerts?status=all&limit=1&offset=1",
           "/alerts?status=new", "/alerts?rule=marac_criteria&status=all", "/alerts?possible=false&status=all")


def _answers(api) -> dict[tuple[str, str], object]:
    out = {}
    for role in ("analyst", "marac", "manager"):
        for url in QUERIES:
            r = api.get(role, url)
            out[role, url] = (r.status_code, r.json())
    return out


def test_the_kept_queue_answers_as_sql(api):
    keeper = api.app.state.alert_queue
    sql = _answers(api)                                   # not started: every answer from SQL
    assert keeper.status()["state"] == "not started"
    keeper.build_later()
    keeper.wait(60)
    assert keeper.status()["state"] == "current"
    kept = _answers(api)
    assert kept == sql
    assert any(body["total"] for status, body in kept.values() if status == 200)
    assert kept["marac", "/alerts?status=all"][1]["total"] < kept["analyst", "/alerts?status=all"][1]["total"]
    assert keeper.status()["words"]["open"] > 0
    assert set(keeper.status()["words"]) >= {"open", "without health_confidential and hub_only"}


def test_an_action_shows_at_once(api):
    keeper = api.app.state.alert_queue
    keeper.build_later()
    keeper.wait(60)
    builds = keeper.status()["builds"]
    first = api.get("analyst", "/alerts?status=open&limit=1").json()["items"][0]
    r = api.post("analyst", f"/alerts/{first['alert_id']}/acknowledge", json={"reason": "seen at the strategy meeting"})
    assert r.status_code == 200
    now = api.get("analyst", "/alerts?status=acknowledged").json()
    assert [a["alert_id"] for a in now["items"]] == [first["alert_id"]] and now["total"] == 1
    assert now["items"][0]["history"][0]["reason"] == "seen at the strategy meeting"
    api.post("analyst", f"/alerts/{first['alert_id']}/close", json={"reason": "safety plan in place"})
    closed = api.get("analyst", "/alerts?status=closed").json()
    assert closed["items"][0]["status"] == "closed" and closed["total"] == 1
    assert keeper.status()["builds"] == builds and keeper.status()["state"] == "current"   # no rebuild
    keeper.stop()
    assert api.get("analyst", "/alerts?status=closed").json() == closed                # as SQL reads it


def test_a_run_is_answered_from_sql_then_from_the_queue_read_again(api):
    keeper = api.app.state.alert_queue
    keeper.build_later()
    keeper.wait(60)
    before = keeper.status()["builds"]
    r = api.post("admin", "/runs", json={"drop_dir": "drop2"})
    assert r.status_code in (200, 202), r.text
    api.app.state.runs.wait(60)
    keeper.wait(60)
    assert keeper.status()["builds"] > before and keeper.status()["state"] == "current"
    kept = _answers(api)
    keeper.stop()
    assert _answers(api) == kept
