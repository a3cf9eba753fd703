"""People overrule the model: decisions take effect now, survive later runs, and bad ones are refused."""

from __future__ import annotations

import pytest

from core.config import load_config
from core.errors import Conflict, IntelError, NotFound
from linkage.decisions import decide
from linkage.identity import resolve_person_id
from tests.linkage.test_run import CONFIG, partition, persons, run, seed


def d(store, a, b, decision, by="j.smith", reason="checked the case file"):
    return decide(store, a, b, decision, by, reason, config=CONFIG)


def test_different_splits_now_and_survives_full_and_retrain(store):
    seed(store)
    run(store)
    pid = persons(store)["police:1"]
    r = d(store, "police:2", "police:1", "different")
    assert r["mention_a"] == "police:1" and r["persons_after"]["police:1"] != r["persons_after"]["police:2"]
    part = partition(store)
    assert ["police:2"] in part and ["health:h1", "police:1"] in part
    assert persons(store)["police:1"] == pid  # larger part keeps the id
    hist = store.rows("SELECT * FROM person_history WHERE action = 'split'")
    assert hist[0]["decided_by"] == "j.smith" and "checked the case file" in hist[0]["reason"]
    assert hist[0]["run_id"] is None and hist[0]["related_person_id"] == pid
    for kw in ({"full": True}, {"retrain": True}, {}):
        run(store, **kw)
        assert partition(store) == part


def test_same_joins_now_and_holds(store):
    seed(store)
    run(store)
    p1, p4 = persons(store)["police:1"], persons(store)["police:4"]
    r = d(store, "police:4", "police:1", "same", reason="same NHS number on the referral")
    assert r["persons_after"]["police:1"] == r["persons_after"]["police:4"] == p1
    assert resolve_person_id(store, p4) == p1
    conf = store.rows("SELECT confirmed, link_probability FROM person_mentions WHERE mention_id = 'police:4'")
    assert conf == [{"confirmed": True, "link_probability": 1.0}]
    merge = store.rows("SELECT * FROM person_history WHERE action = 'merge'")
    assert merge[0]["person_id"] == p4 and "NHS number" in merge[0]["reason"]
    run(store, full=True)
    assert persons(store)["police:4"] == persons(store)["police:1"] == p1


@pytest.mark.parametrize("args, error, words", [
    (("police:1", "police:nope", "same"), NotFound, "police:nope"),
    (("police:1", "police:1", "same"), IntelError, "twice"),
    (("police:1", "police:2", "maybe"), IntelError, "'same' or 'different'"),
    (("police:1", "police:2", "same", "  ", "r"), IntelError, "--by"),
    (("police:1", "police:2", "same", "me", ""), IntelError, "reason"),
])
def test_bad_decisions_are_refused_and_change_nothing(store, args, error, words):
    seed(store)
    run(store)
    digest = store.content_digest()
    with pytest.raises(error, match=words):
        d(store, *args)
    assert store.content_digest() == digest


def test_contradictions_are_refused_naming_the_blocking_decision(store):
    seed(store)
    run(store)
    d(store, "police:1", "police:4", "different")
    first = store.content_digest()
    with pytest.raises(Conflict, match="decision 1"):
        d(store, "police:4", "police:1", "same")  # contradicts the earlier one on the pair
    assert store.content_digest() == first
    # transitively: 3 same 4, then 1 same 3 would join 1 and 4 held apart by decision 1
    d(store, "police:3", "police:4", "same")
    second = store.content_digest()
    with pytest.raises(Conflict, match=r"decision 1 .*holds apart") as exc:
        d(store, "police:1", "police:3", "same")
    assert "decision 2" in str(exc.value)
    assert store.content_digest() == second
    # and a 'different' against a chain of 'same' decisions
    d(store, "police:3", "social_care:s1", "same")
    third = store.content_digest()
    with pytest.raises(Conflict, match="decision 2.*decision 3"):
        d(store, "police:4", "social_care:s1", "different")
    assert store.content_digest() == third
    # repeating a decision is allowed (append-only) and changes no person
    before = persons(store)
    d(store, "police:1", "police:4", "different", reason="confirmed again")
    assert persons(store) == before


def test_decisions_survive_a_real_retrain(tmp_path):
    """With the Splink model: a 'different' inside a linked person and a 'same' across two persons
    both hold through `link --retrain`."""
    from fixtures.world import generate_world
    from ingest.drops import ingest_drop
    from core.store import Store
    from linkage.run import link

    generate_world(tmp_path / "w", households=12, seed=4)
    with Store(tmp_path / "s.duckdb") as s:
        ingest_drop(s, tmp_path / "w" / "drop")
        first = link(s, config=load_config())
        assert first["mode"] == "full" and first["persons_created"] > 0
        big = s.rows("SELECT person_id, list(mention_id ORDER BY mention_id) AS ms FROM person_mentions "
                     "GROUP BY 1 HAVING count(*) >= 3 ORDER BY count(*) DESC, 1 LIMIT 2")
        a, b = big[0]["ms"][0], big[0]["ms"][1]
        c, e = big[0]["ms"][2], big[1]["ms"][0]
        decide(s, a, b, "different", "j.smith", "twins: different NHS numbers", config=load_config())
        decide(s, c, e, "same", "j.smith", "same child, record merged by the school", config=load_config())
        for kw in ({"retrain": True}, {"full": True}):
            r = link(s, config=load_config(), **kw)
            assert r["mode"] == "full"
            now = persons(s)
            assert now[a] != now[b] and now[c] == now[e]
        assert s.rows("SELECT count(DISTINCT model_id) AS n FROM linkage_models")[0]["n"] == 2
