"""The clerical-review band: what is queued, and settling an item (bad input changes nothing)."""

from __future__ import annotations

import pytest

from core.errors import Conflict, IntelError, NotFound
from core.store import Store
from linkage.review import review_links, review_threshold, settle
from tests.linkage.test_run import RULES, add_mentions, persons
from linkage.run import link

# the rules scorer: 3 fields equal -> 0.98 (merged at 0.95), 2 -> 0.6 (the review band), else 0.01
CONFIG = {"identity": {"threshold": 0.95, "review_threshold": 0.5, "cannot_link": ["same_event"],
                       "trusted_ref_sources": []}}


@pytest.fixture
def queued(tmp_path):
    with Store(tmp_path / "s.duckdb") as store:
        add_mentions(store, [
            {"record_id": "A", "forename": "ann", "surname": "smith", "dob": "2000-01-01"},
            {"record_id": "B", "forename": "ann", "surname": "smith", "dob": "2001-02-02",
             "source": "health"},                                                            # 0.6 with A
            {"record_id": "C", "forename": "ann", "surname": "smyth", "dob": "2000-01-01",
             "source": "social_care"},                                                       # 0.6 with A
            {"record_id": "D", "forename": "zak", "surname": "jones", "dob": "1990-05-05"},
            {"record_id": "E", "forename": "zak", "surname": "jones", "dob": "1991-05-05"},   # 0.6 with D, one event
        ])
        store.execute("UPDATE mentions SET event_key = 'police:EV', event_id = 'EV' WHERE mention_id IN ('police:D', 'police:E')")
        link(store, config=CONFIG, engine=RULES)
        yield store


def test_band_links_between_persons_are_queued_one_event_is_not(queued):
    q = review_links(queued, CONFIG)
    pairs = {(r["mention_a"], r["mention_b"]) for r in q.iter_rows(named=True)}
    p = persons(queued)
    assert {frozenset(x) for x in pairs} == {frozenset(("police:A", "health:B")), frozenset(("police:A", "social_care:C"))}
    assert all(p[a] != p[b] for a, b in pairs)
    assert q["match_probability"].to_list() == [0.6, 0.6]


def test_settle_same_merges_and_a_second_decision_on_it_is_refused_unchanged(queued):
    r = settle(queued, "police:A", "health:B", "same", "a.analyst", "same NHS number on the referral", config=CONFIG)
    assert r["persons_after"]["police:A"] == r["persons_after"]["health:B"]
    before = queued.content_digest()
    with pytest.raises(Conflict, match=r"police:A and health:B are no longer in the review queue: both are now person"):
        settle(queued, "police:A", "health:B", "same", "a.analyst", "again", config=CONFIG)
    assert queued.content_digest() == before
    assert len(review_links(queued, CONFIG)) == 1


def test_settle_refuses_unknown_records_pairs_not_queued_and_contradictions(queued):
    before = queued.content_digest()
    with pytest.raises(NotFound, match="no record 'police:NOPE'"):
        settle(queued, "police:A", "police:NOPE", "same", "a.analyst", "x", config=CONFIG)
    with pytest.raises(Conflict, match=r"police:D and police:E are not in the review queue: no link between persons"):
        settle(queued, "police:D", "police:E", "same", "a.analyst", "x", config=CONFIG)
    with pytest.raises(IntelError, match="decision must be 'same' or 'different'"):
        settle(queued, "police:A", "health:B", "maybe", "a.analyst", "x", config=CONFIG)
    assert queued.content_digest() == before
    # A same B, B same C (the second through A's person), then A different C: refused, naming both
    settle(queued, "police:A", "health:B", "same", "a.analyst", "same NHS number", config=CONFIG)
    # (B and C have no link of their own; their persons' strongest link, A-C, is queued)
    settle(queued, "health:B", "social_care:C", "same", "a.analyst", "school records", config=CONFIG)
    before = queued.content_digest()
    with pytest.raises(Conflict, match=r"'different' for police:A and social_care:C contradicts decision 1 \(health:B same police:A.*; "
                       r"decision 2 \(health:B same social_care:C"):
        settle(queued, "police:A", "social_care:C", "different", "b.analyst", "not her", config=CONFIG)
    assert queued.content_digest() == before


def test_a_different_decision_takes_the_pair_out_of_the_queue(queued):
    settle(queued, "police:A", "social_care:C", "different", "a.analyst", "other mother", config=CONFIG)
    left = review_links(queued, CONFIG)
    assert [(r["mention_a"], r["mention_b"]) for r in left.iter_rows(named=True)] in (
        [("police:A", "health:B")], [("health:B", "police:A")])
    before = queued.content_digest()
    with pytest.raises(Conflict, match=r"decision 1 \(different, by a.analyst"):
        settle(queued, "police:A", "social_care:C", "same", "b.analyst", "x", config=CONFIG)
    assert queued.content_digest() == before


@pytest.mark.parametrize("value", [0, 0.99, "0.8", True, None])
def test_review_threshold_must_sit_below_the_identity_threshold(value):
    with pytest.raises(IntelError, match=r"\[identity\] review_threshold must be a number in \(0, 0.95\]"):
        review_threshold({"identity": {"threshold": 0.95, "review_threshold": value}})
