"""The ranked review queue brought up to a link decision at once, without ranking it again.

Ranking the queue (findings.review.rank_queue) takes ~30-55 s at 1.1M mentions, so after a
decision the API serves the kept ranking patched by :func:`after_decision` until the rebuild
lands (api/review_cache.py). The patch is exact about what the analyst has just done and
provisional about its consequences:

- the decided pair of mentions is gone, whatever the decision;
- 'different': the item between the two persons it holds apart is gone (held_apart);
- 'same': every item whose two mentions are now in one person is gone;
- every other item touching a person the decision reclustered (the persons of the two mentions
  before and after, and every person in the decision's person_history rows) is re-keyed to the
  persons its mentions belong to now (oriented person_a < person_b, one item per pair of
  persons, the better ranked kept) and marked ``"updating": True``: its harm, recency and
  findings are those of before the decision, and its key mentions are read again;
- the order is kept (a page numbers its items by position). Items the decision brings into the band (a split
  person's new links) and changes of rank appear with the rebuild.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from core.store import Store
from findings.review import RankedQueue


def touched_persons(store: Store, result: dict[str, Any]) -> set[str]:
    """The persons a decision (linkage.decisions.decide's result) may have changed."""
    touched = {p for side in ("persons_before", "persons_after") for p in (result.get(side) or {}).values() if p}
    rows = store.rows("SELECT person_id, related_person_id FROM person_history WHERE happened_at = ? "
                      "AND starts_with(reason, ?)",
                      [result["decided_at"], f"decision {result['decision_id']} ("])
    touched |= {p for r in rows for p in (r["person_id"], r["related_person_id"]) if p}
    return touched


def persons_now(store: Store, mentions: set[str]) -> dict[str, str]:
    """mention -> the person it belongs to now (one query)."""
    if not mentions:
        return {}
    store.register("_rp_mentions", pl.DataFrame({"mention_id": sorted(mentions)}, schema={"mention_id": pl.Utf8}))
    try:
        return dict(store.df("SELECT mention_id, person_id FROM person_mentions "
                             "SEMI JOIN _rp_mentions USING (mention_id)").rows())
    finally:
        store.unregister("_rp_mentions")


def after_decision(store: Store, ranked: RankedQueue, result: dict[str, Any]) -> tuple[RankedQueue, set[str]]:
    """(the queue patched by the committed decision ``result``, the ids of the items it dropped or
    changed: the key mentions kept of the others still hold). Reads the persons touched and their items' mentions' persons now."""
    touched = touched_persons(store, result)
    hit = [it for it in ranked.items if it["person_a"] in touched or it["person_b"] in touched]
    now = persons_now(store, {m for it in hit for m in (it["mention_a"], it["mention_b"])})
    return patch(ranked, result, touched, now)


def patch(ranked: RankedQueue, result: dict[str, Any], touched: set[str],
          now: dict[str, str]) -> tuple[RankedQueue, set[str]]:
    """The pure part of :func:`after_decision`: ``now`` maps the mentions of the items touching
    ``touched`` to their persons after the decision. Returns (the patched queue, the ids of the
    kept ranking's items it dropped or changed). The items left untouched are the kept ranking's
    own dicts (not copied: 236k items at 1.1M); their ``rank`` is the old one, so a page numbers
    its items by position (api/review_cache.py)."""
    a, b = result["mention_a"], result["mention_b"]
    decided = {a, b}
    after = result.get("persons_after") or {}
    apart = ({after.get(a), after.get(b)} if result["decision"] == "different" else set())
    kept: list[dict[str, Any]] = []
    changed: set[str] = set()
    pairs: set[tuple[str, str]] = set()   # of the re-keyed items: an untouched item shares no person with one
    for it in ranked.items:
        if it["person_a"] not in touched and it["person_b"] not in touched:
            if {it["mention_a"], it["mention_b"]} != decided:
                kept.append(it)
                continue
        changed.add(it["item_id"])
        pa, pb = now.get(it["mention_a"]), now.get(it["mention_b"])
        if {it["mention_a"], it["mention_b"]} == decided or pa is None or pb is None or pa == pb \
                or {pa, pb} == apart:
            continue   # decided, a mention gone, the two now one person, or held apart by this decision
        ma, mb = it["mention_a"], it["mention_b"]
        if pa > pb:
            pa, pb, ma, mb = pb, pa, mb, ma
        if (pa, pb) in pairs:
            continue   # one item per pair of persons: the better ranked
        pairs.add((pa, pb))
        kept.append({**it, "item_id": f"{ma}|{mb}", "mention_a": ma, "mention_b": mb, "person_a": pa,
                     "person_b": pb, "updating": True})
    at_stake = sum(1 for it in kept if it["at_stake"])   # still first: the order is kept
    return (RankedQueue(ranked.review_threshold, ranked.identity_threshold, ranked.possible_findings, tuple(kept),
                        at_stake), changed)
