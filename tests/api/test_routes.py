"""Every endpoint for every role, the forbidden cases, restricted rows per role, redirects for merged
ids, pagination and the problem+json shape of every error."""

from __future__ import annotations

import pytest

from tests.api.conftest import PURPOSE, ROLES

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance"}


def is_problem(r, status: int, slug: str | None = None) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers["content-type"]
    body = r.json()
    assert PROBLEM_KEYS <= set(body) and body["status"] == status
    if slug:
        assert body["type"] == f"/problems/{slug}", body
    return body


def ids(api):
    w = api.world
    return {"sarah": w["person"]["police:P1"], "tom": w["person"]["police:P6"],
            "hh_sarah": w["household"]["police:P1"], "hh_tom": w["household"]["police:P6"]}


def alert_id(api, status="open"):
    r = api.get("analyst", f"/alerts?status={status}")
    return r.json()["items"][0]["alert_id"]


# (name, method, url template, body, roles allowed, status expected for an allowed role)
ENDPOINTS = [
    ("search", "GET", "/persons?surname=Hughes&dob=1991-07-14", None, {"analyst"}, 200),
    ("person", "GET", "/persons/{sarah}", None, {"analyst"}, 200),
    ("person_chronology", "GET", "/persons/{sarah}/chronology", None, {"analyst", "marac"}, 200),
    ("household_chronology", "GET", "/households/{hh_sarah}/chronology", None, {"analyst", "marac"}, 200),
    ("network", "GET", "/persons/{sarah}/network?hops=2", None, {"analyst", "marac"}, 200),
    ("alerts", "GET", "/alerts", None, {"analyst", "marac"}, 200),
    ("acknowledge", "POST", "/alerts/{alert}/acknowledge", {"reason": "seen at the MASH meeting"}, {"analyst"}, 200),
    ("close", "POST", "/alerts/{alert}/close", {"reason": "done"}, {"analyst"}, 409),  # a new alert cannot be closed
    ("decide", "POST", "/links/decisions", {"mention_a": "police:P7", "mention_b": "social_care:S2",
                                            "decision": "different", "reason": "different addresses"}, {"analyst"}, 200),
    ("explain", "GET", "/links/explain?a=police:P1&b=health:H1", None, {"analyst"}, 400),  # no Splink model in this world
    ("start_run", "POST", "/runs", {"drop_dir": "/nonexistent/drop"}, {"admin"}, 400),
    ("runs", "GET", "/runs", None, {"admin"}, 200),
    ("users", "GET", "/users", None, {"admin"}, 200),
    ("add_user", "POST", "/users", {"name": "newbie", "role": "marac"}, {"admin"}, 201),
    ("revoke_user", "DELETE", "/users/gone2", None, {"admin"}, 404),
    ("metrics", "GET", "/metrics?by=quarter", None, {"analyst", "manager"}, 200),
]


def call(api, role, method, url, body, headers=None):
    h = headers if headers is not None else api.auth(role)
    return api.client.request(method, url, headers=h, json=body)


@pytest.mark.parametrize("name, method, url, body, allowed, expected", ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_every_endpoint_for_every_role(api, name, method, url, body, allowed, expected):
    url = url.format(**ids(api), alert=alert_id(api) if "{alert}" in url else "")
    for role in ROLES:
        r = call(api, role, method, url, body)
        if role in allowed:
            assert r.status_code == expected, (role, r.text)
            if expected >= 400:
                is_problem(r, expected)
        else:
            body403 = is_problem(r, 403, "forbidden-role")
            assert role in body403["detail"]
    # no token, a bad token, a revoked token: 401 with a challenge, whatever the role rights
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic dXNlcjpwYXNz"},
                    {"Authorization": f"Bearer {api.world['revoked_token']}"}):
        r = call(api, None, method, url, body, headers={**headers, **PURPOSE})
        is_problem(r, 401, "unauthorized")
        assert r.headers["www-authenticate"].startswith("Bearer")


def test_health_needs_no_auth_and_says_nothing_personal(api):
    r = api.client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert {k: body[k] for k in ("status", "run_in_progress")} == {"status": "ok", "run_in_progress": False}
    # whether chronologies come from the in-memory snapshot (nothing personal in it)
    assert set(body) == {"status", "run_in_progress", "snapshot", "review_queue", "alert_queue"} and body["snapshot"]["state"] == "current"
    assert api.client.get("/docs").status_code == 200
    paths = api.client.get("/openapi.json").json()["paths"]
    for route in ("/persons", "/persons/{person_id}/chronology", "/households/{household_key}/chronology",
                  "/persons/{person_id}/network", "/alerts", "/alerts/{alert_id}/acknowledge", "/alerts/{alert_id}/close",
                  "/links/decisions", "/links/explain", "/runs", "/runs/{run_id}", "/users"):
        assert route in paths, route


def test_refusals_never_say_whether_a_person_exists(api):
    i = ids(api)
    # a role without the right: the same answer for a real and an unknown person
    real = call(api, "admin", "GET", f"/persons/{i['sarah']}/chronology", None).json()
    fake = call(api, "admin", "GET", "/persons/MI-99999999B/chronology", None).json()
    assert {k: v for k, v in real.items() if k != "instance"} == {k: v for k, v in fake.items() if k != "instance"}
    # marac: a person without a domestic-abuse event and an unknown person look the same (403)
    for route in ("chronology", "network"):
        tom = is_problem(api.get("marac", f"/persons/{i['tom']}/{route}"), 403, "forbidden-subject")
        ghost = is_problem(api.get("marac", f"/persons/MI-99999999B/{route}"), 403, "forbidden-subject")
        assert tom["detail"] == ghost["detail"] and tom["title"] == ghost["title"]
    is_problem(api.get("marac", f"/households/{i['hh_tom']}/chronology"), 403, "forbidden-subject")
    is_problem(api.get("marac", "/households/addr:nowhere|ZZ1 1ZZ/chronology"), 403, "forbidden-subject")
    # no token: the same 401 for a real and an unknown person
    r401 = [api.client.get(f"/persons/{pid}/chronology", headers=PURPOSE).json() for pid in (i["sarah"], "MI-99999999B")]
    assert [{k: v for k, v in b.items() if k != "instance"} for b in r401] == [
        {k: v for k, v in r401[0].items() if k != "instance"}] * 2 and r401[0]["status"] == 401
    # an analyst, who may search anyway, is told plainly
    is_problem(api.get("analyst", "/persons/MI-99999999B/chronology"), 404, "not-found")
    is_problem(api.get("analyst", "/persons/MI-99999999B"), 404, "not-found")


def test_purpose_is_required_for_personal_data(api):
    i = ids(api)
    for url in (f"/persons/{i['sarah']}/chronology", "/persons?surname=Hughes&dob=1991-07-14", "/alerts"):
        is_problem(api.get("analyst", url, purpose=False), 400, "purpose-required")
    r = api.client.get(f"/persons/{i['sarah']}", headers={**api.auth("analyst", False), "X-Purpose": "x"})
    is_problem(r, 400, "purpose-required")
    # admin listing users is not personal data about children: no purpose needed
    assert api.get("admin", "/users", purpose=False).status_code == 200


def test_chronology_restrictions_per_role_and_format(api):
    sarah = ids(api)["sarah"]
    analyst = api.get("analyst", f"/persons/{sarah}/chronology").json()["events"]["items"]
    keys = {e["event_key"]: e for e in analyst if e["kind"] == "event"}
    assert keys["health:A1"]["presentation"] == "assault"          # health clearance: full detail
    assert keys["police:E3"]["restriction"] == "hub_only"          # hub staff see hub_only on screen
    marac = api.get("marac", f"/persons/{sarah}/chronology").json()["events"]["items"]
    assert not any(e["event_key"] == "police:E3" for e in marac)   # never to marac
    health = [e for e in marac if e["event_key"] == "health:A1"]
    assert health and all(e.get("restricted") for e in health)
    text = str(marac)
    assert "assault" not in text and "emergency_department" not in text
    assert any(str(e["event_date"]).startswith("2025-03-03") for e in health)   # that it happened, and when
    for fmt, media in (("csv", "text/csv"), ("html", "text/html")):
        r = api.get("analyst", f"/persons/{sarah}/chronology?format={fmt}")
        assert r.status_code == 200 and r.headers["content-type"].startswith(media)
        assert "police:E3" not in r.text and "child_concern" not in r.text    # hub_only never in an export
        assert "2025-01-10" in r.text and "2025-04-01T10" not in r.text and "2025-04-01 10:00" not in r.text
    csv_marac = api.get("marac", f"/persons/{sarah}/chronology?format=csv").text
    assert "assault" not in csv_marac and "police:E3" not in csv_marac


def test_network_restrictions_per_role_and_format(api):
    sarah = ids(api)["sarah"]

    def events(role, fmt="json"):
        body = api.get(role, f"/persons/{sarah}/network?format={fmt}").json()
        return {n["data"]["event_key"]: n["data"] for n in body["elements"]["nodes"] if n["data"]["type"] == "event"}

    full = events("analyst")
    assert full["health:A1"]["event_type"] == "emergency_department" and "police:E3" in full
    marac = events("marac")
    assert "police:E3" not in marac
    assert marac["health:A1"]["event_type"] == "health_contact" and not marac["health:A1"]["harm"]
    assert marac["health:A1"]["date"] == full["health:A1"]["date"]
    for fmt, media in (("graphml", "application/graphml+xml"), ("svg", "image/svg+xml")):
        r = api.get("analyst", f"/persons/{sarah}/network?format={fmt}")
        assert r.status_code == 200 and r.headers["content-type"].startswith(media)
        assert "E3" not in r.text and "child concern" not in r.text.lower()
    is_problem(api.get("analyst", f"/persons/{sarah}/network?hops=9"), 422, "validation")


def test_household_chronology(api):
    i = ids(api)
    r = api.get("analyst", f"/households/{i['hh_sarah']}/chronology")
    assert r.status_code == 200 and r.json()["events"]["total"] > 0
    assert api.get("marac", f"/households/{i['hh_sarah']}/chronology").status_code == 200


def test_search_ranks_fuzzy_candidates_and_paginates(api):
    sarah = ids(api)["sarah"]
    for q in ("forename=Sally&surname=Hughes&dob=1991-07-14",       # nickname
              "forename=Sara&surname=Hughs&dob=1991-07-14",         # typos
              "forename=Sarah&surname=Hughes&postcode=nb14ql"):     # postcode as typed
        body = api.get("analyst", f"/persons?{q}").json()
        assert body["items"][0]["person_id"] == sarah, (q, body)
    mark = api.world["person"]["police:P2"]
    swapped = api.get("analyst", "/persons?forename=Mark&surname=Hughes&dob=1988-03-02").json()  # 2 March for 3 Feb
    assert swapped["items"][0]["person_id"] == mark and swapped["items"][0]["field_scores"]["dob"] == 0.85
    body = api.get("analyst", "/persons?surname=Hughes&postcode=NB1 4QL&limit=1").json()
    assert len(body["items"]) == 1 and body["total"] == 3 and "offset=1" in body["next"]
    second = api.get("analyst", "/persons?surname=Hughes&postcode=NB1 4QL&limit=1&offset=1").json()
    assert second["items"][0]["person_id"] != body["items"][0]["person_id"]
    is_problem(api.get("analyst", "/persons?surname=Hughes"), 400, "invalid-request")   # one field is fishing
    is_problem(api.get("analyst", "/persons?surname=Hughes&dob=notadate"), 400, "invalid-request")
    # any one identifier an analyst has; UK dates
    assert api.get("analyst", "/persons?surname=Hughes&dob=14/07/1991").json()["items"][0]["person_id"] == sarah
    assert [c["person_id"] for c in api.get("analyst", "/persons?reference=police:P1").json()["items"]] == [sarah]
    assert api.get("analyst", "/persons?surname=Hughes&birth_year=1991").json()["items"][0]["person_id"] == sarah


def test_alerts_list_paginate_and_act(api):
    page = api.get("analyst", "/alerts?limit=1").json()
    assert len(page["items"]) == 1 and page["next"] and "offset=1" in page["next"]
    aid = alert_id(api)
    r = api.post("analyst", f"/alerts/{aid}/acknowledge", {"reason": "discussed"})
    assert r.status_code == 200 and r.json()["status"] == "acknowledged"
    is_problem(api.post("analyst", f"/alerts/{aid}/acknowledge", {"reason": "again"}), 409, "conflict")
    assert api.post("analyst", f"/alerts/{aid}/close", {"reason": "referred to MARAC"}).json()["status"] == "closed"
    assert aid in [a["alert_id"] for a in api.get("analyst", "/alerts?status=closed").json()["items"]]
    is_problem(api.post("analyst", "/alerts/A9999999/acknowledge", {"reason": "x"}), 404, "not-found")
    is_problem(api.post("analyst", f"/alerts/{aid}/close", {"reason": ""}), 422, "validation")
    is_problem(api.get("analyst", "/alerts?status=bogus"), 400, "invalid-request")


def test_decision_merges_and_old_id_redirects_to_the_survivor(api):
    w = api.world
    jon, john = w["person"]["police:P7"], w["person"]["social_care:S2"]
    assert jon != john
    r = api.post("analyst", "/links/decisions", {"mention_a": "social_care:S2", "mention_b": "police:P7",
                                                   "decision": "same", "reason": "same NI number on both"})
    assert r.status_code == 200 and r.json()["status"] == "applied"
    after = r.json()["persons_after"]
    survivor = after["police:P7"]
    assert after["social_care:S2"] == survivor
    merged = john if survivor == jon else jon
    for suffix in ("", "/chronology?harm_only=false"):
        moved = api.get("analyst", f"/persons/{merged}{suffix}")
        assert moved.status_code == 307 and moved.json()["person_id"] == survivor
        assert moved.headers["location"] == f"/persons/{survivor}{suffix}"
        assert api.get("analyst", moved.headers["location"]).status_code == 200
    # a contradicting decision is refused with 409 and changes nothing
    is_problem(api.post("analyst", "/links/decisions", {"mention_a": "police:P7", "mention_b": "social_care:S2",
                                                          "decision": "different", "reason": "oops"}), 409, "conflict")
    is_problem(api.post("analyst", "/links/decisions", {"mention_a": "police:P7", "mention_b": "police:NOPE",
                                                          "decision": "same", "reason": "r"}), 404, "not-found")
    is_problem(api.post("analyst", "/links/decisions", {"mention_a": "police:P7", "mention_b": "police:P6",
                                                          "decision": "maybe", "reason": "r"}), 422, "validation")


def test_users_admin_routes_issue_and_revoke_tokens(api):
    r = api.post("admin", "/users", {"name": "carol", "role": "analyst"}, purpose=False)
    assert r.status_code == 201
    token = r.json()["token"]
    h = {"Authorization": f"Bearer {token}", **PURPOSE}
    assert api.client.get("/alerts", headers=h).status_code == 200
    listed = api.get("admin", "/users?limit=2", purpose=False).json()
    assert len(listed["items"]) == 2 and listed["total"] >= 5 and listed["next"]
    assert all("token" not in str(u) for u in listed["items"])
    is_problem(api.post("admin", "/users", {"name": "carol", "role": "analyst"}), 409, "conflict")
    assert api.client.delete("/users/carol", headers=api.auth("admin")).status_code == 200
    is_problem(api.client.get("/alerts", headers=h), 401, "unauthorized")


def test_problem_shapes_for_framework_errors(api):
    is_problem(api.client.get("/no/such/route"), 404, "not-found")
    is_problem(api.client.put("/health"), 405, "method-not-allowed")
    is_problem(api.client.post("/links/decisions", headers=api.auth("analyst"), content=b"{not json"), 422, "validation")
    is_problem(api.get("analyst", "/alerts?limit=0"), 422, "validation")
    is_problem(api.get("analyst", "/alerts?limit=100000"), 422, "validation")


def test_chronology_pagination(api):
    sarah = ids(api)["sarah"]
    full = api.get("analyst", f"/persons/{sarah}/chronology").json()["events"]
    page = api.get("analyst", f"/persons/{sarah}/chronology?limit=2&offset=2").json()["events"]
    assert page["total"] == full["total"] and page["items"] == full["items"][2:4]
    assert page["next"] and "offset=4" in page["next"]


def test_no_route_changes_the_audit_log(api):
    spec = api.client.get("/openapi.json").json()
    assert not [p for p in spec["paths"] if "audit" in p]
    for method in ("put", "patch", "delete", "post"):
        assert getattr(api.client, method)("/audit", headers=api.auth("admin")).status_code in (404, 405)


def test_chronology_filters_are_the_cli_ones(api):
    sarah = ids(api)["sarah"]

    def keys(q):
        body = api.get("analyst", f"/persons/{sarah}/chronology?{q}").json()["events"]["items"]
        return {e["event_key"] for e in body if e["kind"] == "event"}

    everything = keys("")
    assert keys("from=2025-03-01&to=2025-03-31") == {"police:E2", "health:A1"}
    assert keys("sources=health") == {"health:A1"}
    assert keys("harm_only=true") <= everything and "police:E1" in keys("harm_only=true")
    is_problem(api.get("analyst", f"/persons/{sarah}/chronology?from=2025-05-01&to=2025-01-01"), 400, "invalid-request")
    is_problem(api.get("analyst", f"/persons/{sarah}/chronology?sources=probation"), 400, "invalid-request")


def test_every_store_session_a_request_opens_is_closed_when_it_is_answered(api, monkeypatch):
    """The db dependency is a plain function (api/security.py): RequestSessions closes what it
    opened, whether the route answered, refused or failed, so no read transaction outlives its
    request."""
    opened = []
    store = api.client.app.state.store
    real = store.lazy_session

    def watched(**kw):
        session = real(**kw)
        opened.append(session)
        return session

    monkeypatch.setattr(store, "lazy_session", watched)
    sarah = ids(api)["sarah"]
    statuses = [api.get(role, url).status_code for role, url in (
        ("marac", f"/persons/{sarah}/chronology"),          # SQL: marac's domestic-abuse check
        ("analyst", f"/persons/{sarah}/network?format=svg"),  # SQL through the lens
        ("analyst", "/persons/MI-99999999B/chronology"),
        ("analyst", "/alerts?status=new"),
        ("marac", "/persons/MI-99999999B/network"))]
    assert statuses == [200, 200, 404, 200, 403]
    assert len(opened) == 5
    assert all(not s.opened for s in opened)   # the marac chronology's, at least, did query DuckDB


def test_alerts_filters_total_and_the_marac_queue(api):
    everything = api.get("analyst", "/alerts?status=all&limit=500").json()
    assert everything["total"] == len(everything["items"]) > 0
    some = everything["items"][0]
    person = some["person_id"]
    mine = api.get("analyst", f"/alerts?status=all&person_id={person}").json()
    assert mine["total"] >= 1 and all(person in a["person_ids"] for a in mine["items"])
    rule = api.get("analyst", f"/alerts?status=all&rule={some['rule']}").json()
    assert rule["total"] >= 1 and {a["rule"] for a in rule["items"]} == {some["rule"]}
    body = is_problem(api.get("analyst", "/alerts?rule=repeat_victims"), 400, "invalid-request")
    assert "repeat_victims" in body["detail"] and "repeat_victim," in body["detail"]
    body = is_problem(api.get("analyst", "/alerts?status=opened"), 400, "invalid-request")
    assert "baseline" in body["detail"]
    # a MARAC coordinator: marac_criteria and escalation alerts of people with a domestic-abuse record
    marac = api.get("marac", "/alerts?status=all&limit=500").json()
    assert {a["rule"] for a in marac["items"]} <= {"marac_criteria", "escalation"}
    expected = [a["alert_id"] for a in everything["items"] if a["rule"] == "marac_criteria"]
    assert expected and set(expected) <= {a["alert_id"] for a in marac["items"]}
    is_problem(api.post("marac", f"/alerts/{expected[0]}/acknowledge", {"reason": "x"}), 403, "forbidden-role")
