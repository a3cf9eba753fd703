"""The review queue ranked once per store state (api/review_cache.py): what it serves equals the
queue recomputed from the store, and a decision or a run's commit is in the very next answer."""

from __future__ import annotations

import json
import threading
import time

import pytest

from api.review_cache import ReviewQueueCache
from api.routes.common import ok
from core.errors import IntelError
from findings.review import rank_queue, review_queue
from tests.api.test_review_routes import api  # noqa: F401 - the app with the review band widened


def _recomputed(api, everything: bool = True) -> dict:
    """The queue as the route computed it before it was kept: from the store, now (this small
    world's band touches nobody harmed or offending: the whole band, all=true, by default)."""
    s = api.app.state.store.session()
    try:
        return review_queue(s, api.app.state.config, limit=None, everything=everything)
    finally:
        s.close()


def _served(api, **params) -> dict:
    r = api.get("analyst", "/links/review", params={"limit": 500, "all": "true", **params})
    assert r.status_code == 200, r.text
    return r.json()


def _as_json(api, queue: dict) -> dict:
    """The recomputed queue as the route writes it (dates as text)."""
    return json.loads(ok(queue).body)


def test_served_pages_equal_the_queue_recomputed_and_are_ranked_once(api):
    cache = api.app.state.review_queue
    want = _as_json(api, _recomputed(api))
    assert want["total"] >= 1
    whole = _served(api)
    assert {k: whole[k] for k in ("review_threshold", "identity_threshold", "total", "completing",
                                  "possible_findings")} == {k: want[k] for k in ("review_threshold",
                                                                                  "identity_threshold", "total",
                                                                                  "completing", "possible_findings")}
    assert whole["items"] == want["items"]
    for offset, limit in ((0, 1), (1, 2), (0, 3)):   # pages cut from the kept ranking, key mentions kept too
        assert _served(api, offset=offset, limit=limit)["items"] == want["items"][offset: offset + limit]
    at_stake = _as_json(api, _recomputed(api, everything=False))
    assert _served(api, all="false") == {**at_stake, "limit": 500, "offset": 0, "next": None, "refreshing": False}
    assert cache.builds == 1 and cache.status()["state"] == "current"


class _Gate:
    """Holds the cache's rebuilds until opened, so a test sees the patched queue for certain."""

    def __init__(self, cache: ReviewQueueCache) -> None:
        self.cache, self.open, self.rank = cache, threading.Event(), cache._rank
        cache._rank = self._held

    def _held(self, store, config):
        assert self.open.wait(60), "the test never opened the gate"
        return self.rank(store, config)

    def release(self) -> None:
        self.open.set()
        self.cache.wait(60)


def _persons_of(api, mentions) -> dict:
    s = api.app.state.store.session()
    try:
        return {m: p for m, p in s.df("SELECT mention_id, person_id FROM person_mentions").rows() if m in mentions}
    finally:
        s.close()


def _check_patched(api, served: dict, decided: set, decision: str) -> None:
    """What a patched queue must hold at once: never the decided pair, nor an item the decision
    settles; one item per pair of persons, each item's link between its two persons now."""
    assert served["refreshing"] is True
    items = served["items"]
    assert all({it["mention_a"], it["mention_b"]} != decided for it in items)
    now = _persons_of(api, {m for it in items for m in (it["mention_a"], it["mention_b"])} | decided)
    a, b = sorted(decided)
    for it in items:
        assert (now[it["mention_a"]], now[it["mention_b"]]) == (it["person_a"], it["person_b"]), it
        assert it["person_a"] < it["person_b"]
        if decision == "different":
            assert {it["person_a"], it["person_b"]} != {now[a], now[b]}
        for side in ("a", "b"):   # key mentions read of the person as it is now
            assert it[f"mentions_{side}"][0]["mention_id"] == it[f"mention_{side}"]
    assert len({(it["person_a"], it["person_b"]) for it in items}) == len(items)
    assert [it["rank"] for it in items] == list(range(1, len(items) + 1))
    assert served["total"] == len(items)


def _then_rebuilt(api, gate: _Gate) -> None:
    gate.release()
    after = _served(api)
    want = _as_json(api, _recomputed(api))
    assert after["refreshing"] is False and {k: after[k] for k in want} == want   # the summary and every item


def test_a_different_decision_is_in_the_next_answer_at_once_then_the_rebuild(api):
    cache = api.app.state.review_queue
    first = _served(api, limit=1)["items"][0]
    gate = _Gate(cache)
    r = api.post("analyst", "/links/review/decisions", {"mention_a": first["mention_a"], "mention_b": first["mention_b"],
                                                        "decision": "different", "reason": "different birth dates"})
    assert r.status_code == 200, r.text
    patched = _served(api)                          # at once, while the rebuild is held
    assert first["item_id"] not in {it["item_id"] for it in patched["items"]}
    _check_patched(api, patched, {first["mention_a"], first["mention_b"]}, "different")
    assert cache.status()["state"] == "patched, rebuilding" and cache.builds == 1
    _then_rebuilt(api, gate)
    assert cache.builds == 2


def test_a_same_decision_through_links_decisions_is_in_the_next_answer_at_once(api):
    cache = api.app.state.review_queue
    whole = _served(api)
    first = whole["items"][0]
    gate = _Gate(cache)
    r = api.post("analyst", "/links/decisions", {"mention_a": first["mention_a"], "mention_b": first["mention_b"],
                                                 "decision": "same", "reason": "same NHS number"})
    assert r.status_code == 200, r.text
    patched = _served(api)
    assert first["item_id"] not in {it["item_id"] for it in patched["items"]}
    _check_patched(api, patched, {first["mention_a"], first["mention_b"]}, "same")
    merged = {first["person_a"], first["person_b"]}
    touching = [it for it in whole["items"][1:] if {it["person_a"], it["person_b"]} & merged]
    assert all(it.get("updating") for it in patched["items"]
               if {it["person_a"], it["person_b"]} & set(r.json()["persons_after"].values()))
    assert len(patched["items"]) <= len(whole["items"]) - 1 and touching is not None
    _then_rebuilt(api, gate)


def test_a_nightly_run_is_in_the_next_answer(api):
    before = _served(api)
    r = api.client.post("/runs", headers=api.auth("admin"), json={"drop_dir": "drop2"})
    assert r.status_code in (200, 202), r.text
    api.app.state.runs.wait(120)
    after = _served(api)
    assert after["items"] == _as_json(api, _recomputed(api))["items"]
    assert api.app.state.review_queue.builds >= 2 and before["total"] >= 1


def _store_of(api):
    return api.app.state.store


def test_requests_during_a_build_share_it(api):
    calls = []

    def slow(store, config):
        calls.append(1)
        time.sleep(0.3)
        return rank_queue(store, config)

    cache = ReviewQueueCache(_store_of(api), api.app.state.config, rank=slow)
    answers = []

    def ask():
        s = _store_of(api).session()
        try:
            answers.append(cache.page(s, 0, 5, everything=True))
        finally:
            s.close()

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(calls) == 1 and len(answers) == 4 and all(a == answers[0] for a in answers)


def test_a_failed_build_is_the_requests_error_and_the_next_one_tries_again(api):
    fail = [True]

    def flaky(store, config):
        if fail.pop(0) if fail else False:
            raise IntelError("config [identity] review_threshold must be a number")
        return rank_queue(store, config)

    cache = ReviewQueueCache(_store_of(api), api.app.state.config, rank=flaky)
    s = _store_of(api).session()
    try:
        with pytest.raises(IntelError, match="review_threshold"):
            cache.page(s, 0, 5)
        summary, items = cache.page(s, 0, 5, everything=True)
    finally:
        s.close()
    assert summary["total"] >= 1 and items and cache.builds == 1


def test_pages_read_from_the_patched_queue_are_not_kept_for_the_ranking_that_replaces_it(monkeypatch):
    """The patched queue and the ranking that replaces it share a version: a page completed from
    the patched queue while the rebuild published (its item marked updating, with the harm of
    before the decision) must not be served again as an item of the new ranking."""
    import contextlib

    import api.review_cache as rc
    from findings.review import RankedQueue

    def item(harm: int, **extra) -> dict:
        return {"rank": 1, "item_id": "a:1|b:1", "mention_a": "a:1", "mention_b": "b:1", "person_a": "MI-1",
                "person_b": "MI-2", "match_probability": 0.95, "match_weight": 4.0, "completes_findings": [],
                "harmed_records": harm, "offender_records": 0, "at_stake": True, "latest_event": None, **extra}

    class _Session:
        def transaction(self):
            return contextlib.nullcontext()

        def close(self):
            pass

    class _Store:
        def session(self):
            return _Session()

    rankings = [RankedQueue(0.8, 0.99, 0, (item(1),), 1), RankedQueue(0.8, 0.99, 0, (item(5),), 1)]
    gate = threading.Event()

    def rank(store, config):
        if len(rankings) == 1:
            assert gate.wait(60)
        return rankings.pop(0)

    hook = {"during": None}

    def page_items(store, ranked, offset, limit, *, known, everything):
        chosen = ranked.scoped(everything)[offset: offset + limit]
        for it in chosen:
            known.setdefault(it["item_id"], {**it, "mentions_a": [], "mentions_b": []})
        if hook.get("during") is not None:
            hook.pop("during")()
        return [dict(known[it["item_id"]]) for it in chosen]

    monkeypatch.setattr(rc, "page_items", page_items)
    monkeypatch.setattr(rc, "after_decision", lambda store, base, result: (
        RankedQueue(0.8, 0.99, 0, (item(1, updating=True),), 1), {"a:1|b:1"}))
    cache = ReviewQueueCache(_Store(), {}, rank=rank)
    store = _Store()
    assert cache.page(store, 0, 10)[1][0]["harmed_records"] == 1
    cache.decided(store, {"decision": "same"})            # patched at once, the rebuild held

    def publish():                                        # the rebuild lands while this page is read
        gate.set()
        cache.wait(60)
    hook["during"] = publish
    summary, items = cache.page(store, 0, 10)
    assert summary["refreshing"] is True and items[0].get("updating") is True
    summary, items = cache.page(store, 0, 10)             # the new ranking, as ranked
    assert summary["refreshing"] is False
    assert items[0]["harmed_records"] == 5 and not items[0].get("updating"), items[0]
