"""The review queue patched by a decision (findings/review_patch.py) on a world whose people are
split across agencies and queued: the decided pair and what it settles are gone at once, every
item left is a link between the two persons it names now, and the kept items are the ranking's."""

from __future__ import annotations

from findings.review import RankedQueue, rank_queue
from findings.review_patch import after_decision, patch
from core.store import Store
from linkage.decisions import decide
from tests.findings.test_review import _config, copy, world_store  # noqa: F401 - fixtures


def _check(store: Store, patched, decided: set, result: dict) -> None:
    now = dict(store.df("SELECT mention_id, person_id FROM person_mentions").rows())
    a, b = sorted(decided)
    pairs = set()
    for it in patched.items:
        assert {it["mention_a"], it["mention_b"]} != decided
        assert (now[it["mention_a"]], now[it["mention_b"]]) == (it["person_a"], it["person_b"]), it
        assert it["person_a"] < it["person_b"] and it["item_id"] == f"{it['mention_a']}|{it['mention_b']}"
        if result["decision"] == "different":
            assert {it["person_a"], it["person_b"]} != {now[a], now[b]}
        pairs.add((it["person_a"], it["person_b"]))
    assert len(pairs) == len(patched.items)
    assert all(it["at_stake"] for it in patched.scoped()) and not any(it["at_stake"] for it in patched.items[patched.at_stake:])


def test_each_decision_in_a_row_is_in_the_patched_queue_and_the_rest_is_kept(copy):
    db, hub = copy
    cfg = _config(hub)
    with Store(db) as store:
        ranked = rank_queue(store, cfg)
        assert len(ranked.items) >= 6
        seen_updating = False
        for n in range(4):
            it = ranked.items[n]   # the patched queue of the decision before is the base of the next
            kind = "same" if n % 2 == 0 else "different"
            result = decide(store, it["mention_a"], it["mention_b"], kind, "a.analyst", "checked", config=cfg)
            patched, changed = after_decision(store, ranked, result)
            _check(store, patched, {it["mention_a"], it["mention_b"]}, result)
            merged = set(result["persons_before"].values()) | set(result["persons_after"].values())
            for x in patched.items:   # untouched items are the ranking's own; touched ones are flagged
                touches = bool({x["person_a"], x["person_b"]} & merged)
                assert x.get("updating") or x["item_id"] not in changed
                assert not touches or x.get("updating")
                seen_updating |= bool(x.get("updating"))
            kept = {x["item_id"] for x in ranked.items} - {it["item_id"]}
            assert it["item_id"] in changed and len(patched.items) < len(ranked.items)
            own = {id(y) for y in ranked.items}   # items not changed are the kept ranking's own dicts
            assert {x["item_id"] for x in patched.items if id(x) in own} == kept - changed
            assert all(x.get("updating") for x in patched.items if id(x) not in own)
            ranked = patched
        assert seen_updating   # a merged person kept other links of the band
        # the rebuild: whatever the patch left, the recomputed queue never holds a decided pair either
        fresh = rank_queue(store, cfg)
        decided = {frozenset((r["mention_a"], r["mention_b"])) for r in store.rows("SELECT * FROM link_decisions")}
        assert not any(frozenset((x["mention_a"], x["mention_b"])) in decided for x in fresh.items)
        assert {x["item_id"] for x in patched.items if not x.get("updating")} <= {x["item_id"] for x in fresh.items}


def _q(items):
    return RankedQueue(0.5, 0.99, 0, tuple({"rank": i, "item_id": f"{a}|{b}", "mention_a": a, "mention_b": b,
                                            "person_a": pa, "person_b": pb, "at_stake": True,
                                            "completes_findings": []}
                                           for i, (a, b, pa, pb) in enumerate(items, 1)), len(items))


def test_a_same_decision_rekeys_the_merged_persons_items_and_keeps_one_per_pair():
    ranked = _q([("m1", "m2", "P1", "P2"), ("m3", "m9", "P2", "P9"), ("m4", "m8", "P1", "P9"), ("m5", "m6", "P5", "P6")])
    result = {"mention_a": "m1", "mention_b": "m2", "decision": "same",
              "persons_before": {"m1": "P1", "m2": "P2"}, "persons_after": {"m1": "P1", "m2": "P1"}}
    now = {"m3": "P1", "m9": "P9", "m4": "P1", "m8": "P9"}
    patched, changed = patch(ranked, result, {"P1", "P2"}, now)
    assert [(x["item_id"], x["person_a"], x["person_b"], x.get("updating")) for x in patched.items] == [
        ("m3|m9", "P1", "P9", True), ("m5|m6", "P5", "P6", None)]
    assert changed == {"m1|m2", "m3|m9", "m4|m8"} and patched.at_stake == 2
    assert patched.items[1] is ranked.items[3]   # untouched: the kept ranking's own item


def test_a_different_decision_drops_the_pair_held_apart_and_reorients_a_renamed_person():
    ranked = _q([("m2", "m1", "P0", "P1"), ("m1", "m7", "P1", "P7"), ("m3", "m9", "P0", "P9")])
    result = {"mention_a": "m1", "mention_b": "m2", "decision": "different",
              "persons_before": {"m1": "P1", "m2": "P0"}, "persons_after": {"m1": "P1", "m2": "P8"}}
    now = {"m2": "P8", "m1": "P1", "m7": "P7", "m3": "P8", "m9": "P9"}
    patched, _ = patch(ranked, result, {"P0", "P1", "P8"}, now)
    assert [(x["mention_a"], x["mention_b"], x["person_a"], x["person_b"]) for x in patched.items] == [
        ("m1", "m7", "P1", "P7"), ("m3", "m9", "P8", "P9")]
    swapped = patch(ranked, result, {"P0", "P1", "P8"}, {**now, "m3": "P99"})[0].items[1]
    assert (swapped["mention_a"], swapped["person_a"], swapped["item_id"]) == ("m9", "P9", "m9|m3")
