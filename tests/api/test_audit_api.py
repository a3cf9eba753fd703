"""The audit entry of each personal-data request, refused ones included; the combination log."""

from __future__ import annotations

import json

from tests.api.conftest import PURPOSE
from access.audit import list_audit
from access.audit_verify import verify


def last(api) -> dict:
    return api.audit()[-1]


def test_each_personal_data_request_is_recorded_with_who_what_why_and_status(api):
    w = api.world
    sarah, hh = w["person"]["police:P1"], w["household"]["police:P1"]
    cases = [
        ("analyst", "GET", f"/persons/{sarah}/chronology", None, "/persons/{person_id}/chronology", "person", sarah, 200),
        ("marac", "GET", f"/persons/{sarah}/network", None, "/persons/{person_id}/network", "person", sarah, 200),
        ("analyst", "GET", f"/persons/{sarah}", None, "/persons/{person_id}", "person", sarah, 200),
        ("analyst", "GET", f"/households/{hh}/chronology", None, "/households/{household_key:path}/chronology",
         "household", hh, 200),
        ("analyst", "GET", "/persons?surname=Hughes&dob=1991-07-14", None, "/persons", "search", None, 200),
        ("analyst", "GET", "/alerts", None, "/alerts", "alert", None, 200),
        ("analyst", "POST", "/alerts/A9999999/acknowledge", {"reason": "r"}, "/alerts/{alert_id}/acknowledge",
         "alert", "A9999999", 404),
        ("analyst", "POST", "/links/decisions", {"mention_a": "police:P6", "mention_b": "police:P7",
                                                 "decision": "different", "reason": "not him"},
         "/links/decisions", "mention_pair", "police:P6|police:P7", 200),
        ("marac", "GET", f"/persons/{w['person']['police:P6']}/chronology", None, "/persons/{person_id}/chronology",
         "person", w["person"]["police:P6"], 403),
        ("admin", "GET", f"/persons/{sarah}/chronology", None, "/persons/{person_id}/chronology", None, None, 403),
    ]
    for role, method, url, body, endpoint, kind, subject, status in cases:
        before = len(api.audit())
        r = api.client.request(method, url, headers=api.auth(role), json=body)
        assert r.status_code == status, (url, r.text)
        entries = api.audit()
        assert len(entries) == before + 1, url
        e = entries[-1]
        assert (e["user_name"], e["role"], e["method"], e["endpoint"], e["status"]) == (
            f"{role}1", role, method, endpoint, status), e
        assert (e["subject_kind"], e["subject_id"]) == (kind, subject), e
        assert e["purpose"] == PURPOSE["X-Purpose"]
        assert e["path"].startswith(url.split("?")[0])
    search = [e for e in api.audit() if e["endpoint"] == "/persons"][-1]
    detail = json.loads(search["detail"])
    assert detail["query"] == {"surname": "Hughes", "dob": "1991-07-14"} and sarah in detail["returned"]


def test_unauthenticated_and_purposeless_requests_are_recorded_too_but_not_health(api):
    sarah = api.world["person"]["police:P1"]
    n = len(api.audit())
    api.client.get("/health")
    assert len(api.audit()) == n
    api.client.get(f"/persons/{sarah}/chronology", headers=PURPOSE)
    e = last(api)
    assert e["status"] == 401 and e["user_name"] is None
    api.get("analyst", f"/persons/{sarah}/chronology", purpose=False)
    e = last(api)
    assert e["status"] == 400 and e["user_name"] == "analyst1" and e["purpose"] is None


def test_merged_redirect_is_recorded_with_the_survivor(api):
    w = api.world
    r = api.post("analyst", "/links/decisions", {"mention_a": "police:P7", "mention_b": "social_care:S2",
                                                   "decision": "same", "reason": "same NI number"})
    survivor = r.json()["persons_after"]["police:P7"]
    merged = ({w["person"]["police:P7"], w["person"]["social_care:S2"]} - {survivor}).pop()
    assert api.get("analyst", f"/persons/{merged}/chronology").status_code == 307
    e = last(api)
    assert e["status"] == 307 and e["subject_id"] == merged and json.loads(e["detail"])["resolved_to"] == survivor
    # the s.62 combination log: `intel audit --person` shows the merge with who decided it and why,
    # and the requests about either id
    api.app.state.audit_queue.sync()
    s = api.app.state.store.session()
    try:
        out = list_audit(s, person=merged)
        assert {survivor, merged} <= set(out["person_ids"])
        merges = [h for h in out["combination_log"] if h["action"] == "merge"]
        assert merges and merges[0]["decided_by"] == "analyst1" and "same NI number" in merges[0]["reason"]
        creates = [h for h in out["combination_log"] if h["action"] == "create"]
        assert creates and all(h["run_id"] for h in creates)          # made by the nightly run
        assert any(e["subject_id"] == merged and e["status"] == 307 for e in out["entries"])
        assert verify(s)["ok"] and verify(s)["entries"] == len(api.audit())
        assert list_audit(s, user="marac1")["count"] == 0
        assert list_audit(s, user="analyst1")["count"] >= 2
    finally:
        s.close()
