"""Person ids in the workspace: an old id (before schema version 2) opens its person under the
current id, a role that may not see the person is told what it is told for an unknown id, and
text that is no person id is refused on the page, saying what is wrong."""

from __future__ import annotations


import pytest
from fastapi.testclient import TestClient

from core.config import load_config
from core.person_ids import format_person_id
from tests.old_form_store import old_form_copy
from tests.web.conftest import Web, _app, _close

CONFIG = load_config()


@pytest.fixture
def old_web(web_world, tmp_path):
    """The workspace over the world's store as version 1 left it (migrated when it is opened)."""
    db = old_form_copy(web_world["db"], tmp_path / "old.duckdb", CONFIG)
    app = _app(db)
    with TestClient(app, follow_redirects=False) as client:
        yield Web(client=client, app=app, tokens=web_world["tokens"], world=web_world)
    _close(app)


def _old(pid: str) -> str:
    return "P" + pid[3:11]


def test_an_old_id_redirects_to_the_person_page(old_web):
    sarah = old_web.world["person"]["police:P1"]
    old_web.sign_in("analyst")
    for path in ("", "/network", "/print"):
        r = old_web.client.get(f"/w/person/{_old(sarah)}{path}")
        assert r.status_code == 303 and r.headers["location"] == f"/w/person/{sarah}{path}", (path, r.text[:300])
    page = old_web.client.get(f"/w/person/{sarah}")
    assert page.status_code == 200 and sarah in page.text and "Sarah" in page.text
    r = old_web.client.get(f"/w/open?person_id=+{_old(sarah)}+")   # the home page's form
    assert r.status_code == 303 and r.headers["location"] == f"/w/person/{_old(sarah)}"
    tom = old_web.world["person"]["police:P6"]
    r = old_web.client.get(f"/w/review?pa={_old(sarah)}&pb={tom}")
    assert r.status_code == 303 and r.headers["location"] == f"/w/review?pa={sarah}&pb={tom}"


def test_marac_gets_the_unknown_persons_answer_for_an_old_id(old_web):
    tom, sarah = old_web.world["person"]["police:P6"], old_web.world["person"]["police:P1"]
    old_web.sign_in("marac")
    pages = [old_web.client.get(f"/w/person/{pid}") for pid in (_old(tom), tom, format_person_id(99_999_999))]
    assert {p.status_code for p in pages} == {403}
    assert len({p.text.replace(pid, "") for p, pid in zip(pages, (_old(tom), tom, format_person_id(99_999_999)))}) == 1
    assert old_web.client.get(f"/w/person/{_old(sarah)}").status_code == 303


@pytest.mark.parametrize("url, words", [
    ("/w/person/nobody", "person ids are MI- followed"),
    ("/w/person/MI-0000001B", "exactly 8 digits"),
    ("/w/open?person_id=police:P1", "agency record reference"),
    ("/w/open?person_id=", "is empty"),
    ("/w/review?pa=garbage&pb=MI-00000001B", "Person A &#39;garbage&#39; is not a person id"),
])
def test_malformed_ids_are_refused_on_the_page(old_web, url, words):
    old_web.sign_in("analyst")
    r = old_web.client.get(url)
    assert r.status_code == 400 and words in r.text and "<h1>" in r.text, r.text[:500]


def test_a_mistyped_check_letter_opens_nobody(old_web):
    sarah = old_web.world["person"]["police:P1"]
    old_web.sign_in("analyst")
    typo = sarah[:-1] + ("A" if sarah[-1] != "A" else "B")
    r = old_web.client.get(f"/w/person/{typo}")
    assert r.status_code == 400 and "wrong check letter" in r.text and "Sarah" not in r.text
