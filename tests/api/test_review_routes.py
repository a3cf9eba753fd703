"""GET /links/review and POST /links/review/decisions: the queue over HTTP, roles, bad input."""

from __future__ import annotations

import copy

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from core.config import load_config
from tests.api.conftest import ENGINE, Clients
from tests.api.test_routes import is_problem


@pytest.fixture
def api(world, db_copy):
    """The conftest's app with the review band widened to [0.5, 0.999): the rules scorer gives
    0.6 to two fields equal, so Jon / John and their like are queued."""
    cfg = copy.deepcopy(load_config())
    cfg["identity"]["review_threshold"] = 0.5
    app = create_app(db_copy, config=cfg, run_options={"link_engine": ENGINE})
    with TestClient(app, follow_redirects=False) as client:
        yield Clients(client=client, app=app, tokens=world["tokens"], world=world)
    app.state.runs.wait(60)
    app.state.snapshot.wait(60)
    app.state.review_queue.wait(60)
    app.state.audit_queue.close()
    app.state.store.close()


def _state(api) -> dict[str, str]:
    """Every table's digest but the audit log's (each request adds to it)."""
    s = api.app.state.store.session()
    try:
        return {k: v for k, v in s.content_digest().items() if not k.startswith("audit")}
    finally:
        s.close()


def test_review_list_is_for_analysts_and_has_a_stable_shape(api):
    # this small world's band links touch nobody harmed or offending: the queue proper is short,
    # all=true lists the whole band
    at_stake = api.get("analyst", "/links/review?limit=2")
    assert at_stake.status_code == 200, at_stake.text
    r = api.get("analyst", "/links/review?limit=2&all=true")
    assert r.status_code == 200, r.text
    body = r.json()
    assert {"review_threshold", "identity_threshold", "total", "completing", "possible_findings", "limit",
            "offset", "next", "items", "band_links", "not_at_stake", "scope"} <= set(body)
    assert body["total"] >= 1 and len(body["items"]) <= 2 and body["scope"] == "all"
    item = body["items"][0]
    assert {"rank", "item_id", "mention_a", "mention_b", "person_a", "person_b", "match_probability", "match_weight",
            "completes_findings", "harmed_records", "offender_records", "at_stake", "latest_event", "mentions_a",
            "mentions_b"} <= set(item)
    assert body["review_threshold"] <= item["match_probability"] < body["identity_threshold"]
    q = at_stake.json()
    assert q["scope"] == "at_stake" and all(it["at_stake"] for it in q["items"])
    assert body["total"] == body["band_links"] == q["total"] + q["not_at_stake"]
    is_problem(api.get("analyst", "/links/review?all=maybe"), 422, "validation")
    for role in ("marac", "admin"):
        is_problem(api.get(role, "/links/review"), 403, "forbidden-role")
    is_problem(api.get("analyst", "/links/review", purpose=False), 400, "purpose-required")
    is_problem(api.get("analyst", "/links/review?limit=0"), 422, "validation")
    assert any(e["path"] == "/links/review" and e["user_name"] == "analyst1" for e in api.audit())


def test_settling_an_item_then_refusals_change_nothing(api):
    item = api.get("analyst", "/links/review?limit=1&all=true").json()["items"][0]
    body = {"mention_a": item["mention_a"], "mention_b": item["mention_b"], "decision": "same",
            "reason": "same NHS number on the referral"}
    r = api.post("analyst", "/links/review/decisions", body)
    assert r.status_code == 200, r.text
    after = r.json()["persons_after"]
    assert after[item["mention_a"]] == after[item["mention_b"]]
    api.app.state.runs.wait(60)   # the decision's search-index rebuild runs in the background
    before = _state(api)
    again = is_problem(api.post("analyst", "/links/review/decisions", body), 409, "conflict")
    assert "no longer in the review queue" in again["detail"] and item["mention_a"] in again["detail"]
    is_problem(api.post("analyst", "/links/review/decisions", {**body, "mention_b": "police:NOPE"}), 404, "not-found")
    is_problem(api.post("analyst", "/links/review/decisions", {**body, "decision": "maybe"}), 422, "validation")
    contradiction = is_problem(api.post("analyst", "/links/review/decisions", {**body, "decision": "different"}),
                               409, "conflict")
    assert "decision 1" in contradiction["detail"]
    is_problem(api.post("marac", "/links/review/decisions", body), 403, "forbidden-role")
    assert _state(api) == before


def test_alerts_filter_on_possible(api):
    every = api.get("analyst", "/alerts?limit=500").json()["items"]
    assert every and all(a["possible"] is False and a["possible_links"] == [] for a in every)
    assert api.get("analyst", "/alerts?possible=true").json()["items"] == []
    assert len(api.get("analyst", "/alerts?possible=false&limit=500").json()["items"]) == len(every)
    is_problem(api.get("analyst", "/alerts?possible=maybe"), 422, "validation")
