"""The serving snapshot (api/snapshot.py): chronologies from memory equal those from SQL, and a
write the server makes is visible in the very next request, before the snapshot is rebuilt."""

from __future__ import annotations

import copy
import time

from tests.api.conftest import ENGINE


def chron(api, person_id: str) -> dict:
    r = api.get("analyst", f"/persons/{person_id}/chronology")
    assert r.status_code == 200, r.text
    return r.json()


def sql_only(api):
    """Requests answered without the snapshot (as while it is rebuilt)."""
    keeper = api.app.state.snapshot
    real = keeper.current
    keeper.current = lambda: None
    return keeper, real


def same_both_ways(api, urls: list[str]) -> list:
    """GET each url as an analyst from the snapshot, then from SQL; assert the answers equal."""
    assert api.app.state.snapshot.current() is not None
    from_snapshot = [api.get("analyst", u) for u in urls]
    keeper, real = sql_only(api)
    try:
        from_sql = [api.get("analyst", u) for u in urls]
    finally:
        keeper.current = real
    for a, b in zip(from_snapshot, from_sql):
        assert (a.status_code, a.json()) == (b.status_code, b.json())
    return from_snapshot


def test_snapshot_answers_as_sql_does(api):
    w = api.world
    keeper = api.app.state.snapshot
    assert keeper.current() is not None and keeper.status()["state"] == "current"
    people = sorted(set(w["person"].values()))
    from_snapshot = {p: chron(api, p) for p in people}
    keeper, real = sql_only(api)
    try:
        assert {p: chron(api, p) for p in people} == from_snapshot
        for key in sorted({k for k in w["household"].values() if k}):
            a = api.get("analyst", f"/households/{key}/chronology")
            keeper.current = real
            b = api.get("analyst", f"/households/{key}/chronology")
            keeper.current = lambda: None
            assert (a.status_code, a.json()) == (b.status_code, b.json())
    finally:
        keeper.current = real


def test_a_decision_shows_in_the_next_request(api):
    w = api.world
    keeper = api.app.state.snapshot
    builds = keeper.builds
    jon, john = w["person"]["police:P7"], w["person"]["social_care:S2"]
    r = api.post("analyst", "/links/decisions", {"mention_a": "social_care:S2", "mention_b": "police:P7",
                                                   "decision": "same", "reason": "same NI number on both"})
    assert r.status_code == 200
    survivor = r.json()["persons_after"]["police:P7"]
    # at once (the snapshot is being rebuilt, or already is): both records on the survivor
    mentions = {m for e in chron(api, survivor)["events"]["items"] for m in e.get("mention_ids", [])}
    assert {"police:P7", "social_care:S2"} <= mentions
    merged = john if survivor == jon else jon
    assert api.get("analyst", f"/persons/{merged}/chronology").status_code == 307
    keeper.wait(30)
    assert keeper.current() is not None and keeper.builds > builds
    assert chron(api, survivor) == chron_sql(api, survivor)


def chron_sql(api, person_id: str) -> dict:
    keeper, real = sql_only(api)
    try:
        return chron(api, person_id)
    finally:
        keeper.current = real


def test_an_acknowledged_alert_shows_in_the_next_request(api):
    alerts = api.get("analyst", "/alerts?status=baseline").json()["items"]   # the world's first load
    alert = next(a for a in alerts if a["person_id"])
    before = {a["alert_id"]: a["status"] for a in chron(api, alert["person_id"])["person"]["open_alerts"]}
    assert before[alert["alert_id"]] == "baseline"
    assert api.post("analyst", f"/alerts/{alert['alert_id']}/acknowledge", {"reason": "seen"}).status_code == 200
    after = {a["alert_id"]: a["status"] for a in chron(api, alert["person_id"])["person"]["open_alerts"]}
    assert after[alert["alert_id"]] == "acknowledged"
    api.app.state.snapshot.wait(30)
    assert chron(api, alert["person_id"]) == chron_sql(api, alert["person_id"])


def test_a_run_is_seen_only_once_committed(api):
    keeper = api.app.state.snapshot
    r = api.post("admin", "/runs", {"drop_dir": "drop2"})
    assert r.status_code == 202
    api.app.state.runs.wait(120)
    keeper.wait(60)
    deadline = time.time() + 30
    while keeper.current() is None and time.time() < deadline:
        time.sleep(0.05)
    assert keeper.current() is not None
    for p in sorted(set(api.world["person"].values())):
        assert chron(api, p) == chron_sql(api, p) or api.get("analyst", f"/persons/{p}/chronology").status_code == 307


def test_snapshot_off_in_config(world, db_copy):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from core.config import load_config

    cfg = copy.deepcopy(load_config())
    cfg["api"]["snapshot"] = False
    app = create_app(db_copy, config=cfg, run_options={"link_engine": ENGINE})
    with TestClient(app) as client:
        assert client.get("/health").json()["snapshot"]["state"] == "off"
        assert app.state.snapshot.current() is None
    app.state.audit_queue.close()   # moves the journaled entries in while the store is open
    app.state.store.close()


def test_search_from_the_snapshot_answers_as_sql_does(api):
    urls = ["/persons?forename=Sarah&surname=Hughes&dob=1991-07-14", "/persons?surname=Hughs&dob=1991-07-14",
            "/persons?forename=Jon&surname=Smith", "/persons?dob=1990-01-02&postcode=NB3%201AA",
            "/persons?forename=Mark&postcode=NB1%204QL", "/persons?surname=Brown&dob=1979-30-11"]
    from_snapshot = same_both_ways(api, urls)
    assert [r.status_code for r in from_snapshot][:5] == [200] * 5 and from_snapshot[0].json()["items"]


def test_network_from_the_snapshot_draws_as_sql_does_and_marac_keeps_its_lens(api):
    people = sorted(set(api.world["person"].values()))
    urls = [f"/persons/{p}/network?hops={1 + i % 3}" for i, p in enumerate(people)]
    assert all(r.status_code == 200 for r in same_both_ways(api, urls))
    # marac sees no health_confidential detail whether or not the snapshot is current
    sarah = api.world["person"]["police:P1"]
    types = lambda r: {n["data"].get("event_type") for n in r.json()["elements"]["nodes"]}  # noqa: E731
    assert "emergency_department" in types(api.get("analyst", f"/persons/{sarah}/network"))
    marac = api.get("marac", f"/persons/{sarah}/network")
    assert marac.status_code == 200
    assert "emergency_department" not in types(marac) and "health_contact" in types(marac)
