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
    assert _served(api, all="false") == {**at_stake, "limit": 500, "offset": 0, "next": None}
    assert cache.builds == 1 and cache.status()["state"] == "current"


def test_a_decision_is_in_the_next_answer(api):
    first = _served(api, limit=1)["items"][0]
    r = api.post("analyst", "/links/review/decisions", {"mention_a": first["mention_a"], "mention_b": first["mention_b"],
                                                        "decision": "different", "reason": "different birth dates"})
    assert r.status_code == 200, r.text
    after = _served(api)                           # at once: no waiting for a rebuild by hand
    assert first["item_id"] not in {it["item_id"] for it in after["items"]}
    assert after["items"] == _as_json(api, _recomputed(api))["items"]
    assert api.app.state.review_queue.builds == 2


def test_a_same_decision_through_links_decisions_is_in_the_next_answer(api):
    first = _served(api, limit=1)["items"][0]
    r = api.post("analyst", "/links/decisions", {"mention_a": first["mention_a"], "mention_b": first["mention_b"],
                                                 "decision": "same", "reason": "same NHS number"})
    assert r.status_code == 200, r.text
    after, want = _served(api), _as_json(api, _recomputed(api))
    assert first["item_id"] not in {it["item_id"] for it in after["items"]}
    assert {k: after[k] for k in want} == want     # the summary and every item


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
