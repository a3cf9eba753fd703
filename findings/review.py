"""The review queue an analyst works through, ranked by what is at stake.

Items are the review links of linkage/review.py (one per pair of persons). Ranked:

1. an item whose link would complete a finding (a possible finding, findings/possible.py, whose
   group holds both its persons) comes before every item that would not;
2. then by harm: the harmed records of the two persons (from the last analytics run's
   ``network_mentions``; 0 before analytics has run);
3. then by recency: the latest event of either person;
4. then by probability, strongest first (and the mention ids, so the order is total).

Each item shows both persons' key mentions side by side (the linked mention first, then their
latest others), the probability and match weight, and the findings it would complete; with
``explain`` also the match-weight waterfall of its link (linkage.explain.explain_pair).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import polars as pl

from findings import describe
from findings.as_of import extract_date
from findings.possible import possible_findings
from core.store import Store
from linkage.explain import explain_pair
from linkage.review import held_apart, review_links, review_threshold
from linkage.run import identity_threshold

KEY_MENTIONS = 4      # mentions shown per person (the linked one first)
MENTION_FIELDS = ("mention_id", "source", "record_id", "forename", "surname", "dob", "sex", "postcode", "address",
                  "event_date", "event_type", "role")


def _stakes(store: Store, persons: list[str]) -> dict[str, tuple[int, Any]]:
    """person -> (harmed records, latest event date)."""
    store.register("_rq_persons", pl.DataFrame({"person_id": persons}, schema={"person_id": pl.Utf8}))
    try:
        latest = store.df("SELECT pm.person_id, max(m.event_date)::DATE AS latest FROM person_mentions pm "
                          "JOIN mentions m USING (mention_id) SEMI JOIN _rq_persons USING (person_id) GROUP BY 1")
        harm = (store.df("SELECT person_id, count(*) FILTER (WHERE harmed) AS harmed FROM network_mentions "
                         "SEMI JOIN _rq_persons USING (person_id) GROUP BY 1")
                if "network_mentions" in store.tables() else pl.DataFrame(schema={"person_id": pl.Utf8,
                                                                                  "harmed": pl.Int64}))
    finally:
        store.unregister("_rq_persons")
    harmed = dict(harm.iter_rows())
    return {p: (int(harmed.get(p, 0) or 0), d) for p, d in latest.iter_rows()}


def _key_mentions(store: Store, person: str, linked: str) -> list[dict[str, Any]]:
    rows = store.rows(
        f"SELECT {', '.join('m.' + c for c in MENTION_FIELDS)} FROM person_mentions pm JOIN mentions m USING (mention_id) "
        "WHERE pm.person_id = ? ORDER BY (m.mention_id = ?) DESC, m.event_date DESC, m.mention_id LIMIT ?",
        [person, linked, KEY_MENTIONS])
    return rows


def _ordinal(d: Any) -> int:
    if isinstance(d, datetime):
        return d.date().toordinal()
    return d.toordinal() if isinstance(d, date) else 0


def review_queue(store: Store, config: dict[str, Any], *, limit: int | None = 50,
                 explain: bool = False) -> dict[str, Any]:
    """The ranked queue: ``{"review_threshold", "identity_threshold", "total", "completing",
    "items": [...]}`` with at most ``limit`` items (None: all)."""
    low, high = review_threshold(config), identity_threshold(config)
    links = review_links(store, config)
    persons = sorted(set(links["person_a"].to_list()) | set(links["person_b"].to_list()))
    possible = possible_findings(store, config, links, held_apart(store, config, persons), low) if persons else []
    stakes = _stakes(store, persons) if persons else {}
    # the findings' reasons in words (findings.describe): names, events and dwellings, not their ids
    words = describe.in_words(store, [f["explanation"] for f in possible], extract_date(store, datetime.now())) \
        if possible else []
    possible = [{**f, "explanation": w} for f, w in zip(possible, words)]
    ranked = []
    for r in links.iter_rows(named=True):
        pa, pb = r["person_a"], r["person_b"]
        completes = [{"rule": f["rule"], "group": f["group"], "measure": f["measure"],
                      "explanation": f["explanation"]}
                     for f in possible if pa in f["person_ids"] and pb in f["person_ids"]]
        harm = stakes.get(pa, (0, None))[0] + stakes.get(pb, (0, None))[0]
        latest = max((d for d in (stakes.get(pa, (0, None))[1], stakes.get(pb, (0, None))[1]) if d is not None),
                     default=None)
        ranked.append(({**r, "completes_findings": completes, "harmed_records": harm, "latest_event": latest},
                       (not completes, -harm, -_ordinal(latest), -r["match_probability"], r["mention_a"],
                        r["mention_b"])))
    ranked.sort(key=lambda x: x[1])
    chosen = [item for item, _ in (ranked if limit is None else ranked[:limit])]
    items = []
    for rank, it in enumerate(chosen, 1):
        item = {
            "rank": rank,
            "item_id": f"{it['mention_a']}|{it['mention_b']}",
            "mention_a": it["mention_a"], "mention_b": it["mention_b"],
            "person_a": it["person_a"], "person_b": it["person_b"],
            "match_probability": it["match_probability"], "match_weight": it["match_weight"],
            "completes_findings": it["completes_findings"],
            "harmed_records": it["harmed_records"], "latest_event": it["latest_event"],
            "mentions_a": _key_mentions(store, it["person_a"], it["mention_a"]),
            "mentions_b": _key_mentions(store, it["person_b"], it["mention_b"]),
        }
        if explain:
            item["explain"] = explain_pair(store, it["mention_a"], it["mention_b"])
        items.append(item)
    return {"review_threshold": low, "identity_threshold": high, "total": links.height,
            "completing": sum(1 for it, _ in ranked if it["completes_findings"]),
            "possible_findings": len(possible), "items": items}
