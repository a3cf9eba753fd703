"""Person ids through the API: old ids (before schema version 2) answer for their person, the
role checks apply exactly as for the current id, and text that is no person id is a 400."""

from __future__ import annotations


import pytest
from fastapi.testclient import TestClient

from core.person_ids import format_person_id
from tests.api.conftest import CONFIG, ENGINE, Clients
from tests.api.test_routes import is_problem
from tests.old_form_store import old_form_copy


@pytest.fixture
def old_api(world, tmp_path):
    """The API over the world's store as version 1 left it (migrated when the server opens it)."""
    from api.app import create_app

    db = old_form_copy(world["db"], tmp_path / "old.duckdb", CONFIG)
    app = create_app(db, run_options={"link_engine": ENGINE})
    with TestClient(app, follow_redirects=False) as client:
        yield Clients(client=client, app=app, tokens=world["tokens"], world=world)
    app.state.snapshot.wait(60)
    app.state.audit_queue.close()
    app.state.store.close()


def _old(pid: str) -> str:
    return "P" + pid[3:11]


def test_an_old_id_answers_with_its_person(old_api):
    sarah = old_api.world["person"]["police:P1"]
    r = old_api.get("analyst", f"/persons/{_old(sarah)}/chronology?harm_only=true")
    body = is_problem(r, 307, "old-id")
    assert r.headers["location"] == f"/persons/{sarah}/chronology?harm_only=true"
    assert body["person_id"] == sarah and body["requested_id"] == _old(sarah)
    assert old_api.get("analyst", r.headers["location"]).json()["person"]["person_id"] == sarah
    r = old_api.get("analyst", f"/persons/{sarah.lower()}")        # case forgiven, redirected to capitals
    assert is_problem(r, 307, "canonical-id")["person_id"] == sarah
    rec = old_api.get("analyst", f"/persons/{sarah}").json()
    assert rec["old_ids"] == [_old(sarah)]
    # the alerts filter takes the old id too
    mine = old_api.get("analyst", f"/alerts?status=all&person_id={sarah}").json()
    assert mine["total"] and old_api.get("analyst", f"/alerts?status=all&person_id={_old(sarah)}").json() == mine


def test_roles_get_for_an_old_id_what_they_get_for_an_unknown_one(old_api):
    tom, sarah = old_api.world["person"]["police:P6"], old_api.world["person"]["police:P1"]
    unknown = format_person_id(99_999_999)
    for route in ("chronology", "network"):
        # marac: Tom has no domestic-abuse event, so his old id, his id and an unknown id look alike
        answers = [old_api.get("marac", f"/persons/{pid}/{route}") for pid in (_old(tom), tom, unknown, "P99999999")]
        bodies = [{k: v for k, v in is_problem(a, 403, "forbidden-subject").items() if k != "instance"} for a in answers]
        assert all(b == bodies[0] for b in bodies)
        assert is_problem(old_api.get("marac", f"/persons/{_old(sarah)}/{route}"), 307, "old-id")["person_id"] == sarah
    # a role without the right: the same refusal for an old id as for anything else
    real = old_api.get("admin", f"/persons/{_old(sarah)}/chronology").json()
    fake = old_api.get("admin", f"/persons/{unknown}/chronology").json()
    assert {k: v for k, v in real.items() if k != "instance"} == {k: v for k, v in fake.items() if k != "instance"}
    is_problem(old_api.get("analyst", "/persons/P99999999/chronology"), 404, "not-found")


@pytest.mark.parametrize("bad, words", [
    ("nobody", "person ids are MI- followed"), ("MI-0000001B", "exactly 8 digits"),
    ("police:P1", "agency record reference"),
])
def test_malformed_ids_are_a_400_naming_what_is_wrong(old_api, bad, words):
    for role in ("analyst", "marac"):
        for route in ("", "/chronology", "/network"):
            if role == "marac" and route == "":
                continue
            body = is_problem(old_api.get(role, f"/persons/{bad}{route}"), 400, "malformed-person-id")
            assert words in body["detail"]
    body = is_problem(old_api.get("analyst", f"/alerts?person_id={bad}"), 400, "malformed-person-id")
    assert "person_id" in body["detail"] and words in body["detail"]


def test_a_mistyped_check_letter_is_refused_not_resolved(old_api):
    sarah = old_api.world["person"]["police:P1"]
    typo = sarah[:-1] + ("A" if sarah[-1] != "A" else "B")
    body = is_problem(old_api.get("analyst", f"/persons/{typo}/chronology"), 400, "malformed-person-id")
    assert "wrong check letter" in body["detail"] and sarah not in body["detail"]
