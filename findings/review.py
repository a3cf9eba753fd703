"""The review queue an analyst works through, ranked by what is at stake.

Items are the review links of linkage/review.py (one per pair of persons) on which something is
at stake: the link would complete a finding, or one of its two persons was harmed or named as an
offender (suspect, alleged perpetrator) in the last analytics run's ``network_mentions``. The
other links of the band (two persons neither harmed nor offending, no finding to complete) stay
candidate links, re-scored each night, listed with ``everything=True`` (``intel review --all``)
and queued as soon as something is at stake: on the hard 15k-mention worlds about a third of the
band (docs/bench-linkage.md). Ranked:

1. an item whose link would complete a finding (a possible finding, findings/possible.py, whose
   group holds both its persons) comes before every item that would not;
2. then by harm: the harmed records of the two persons (0 before analytics has run);
3. then by recency: the latest event of either person;
4. then by probability, strongest first (and the mention ids, so the order is total).

Each item shows both persons' key mentions side by side (the linked mention first, then their
latest others), the probability and match weight, and the findings it would complete; with
``explain`` also the match-weight waterfall of its link (linkage.explain.explain_pair).
"""

from __future__ import annotations

from dataclasses import dataclass
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


def _stakes(store: Store, persons: list[str]) -> dict[str, tuple[int, Any, int]]:
    """person -> (harmed records, latest event date, offender records)."""
    store.register("_rq_persons", pl.DataFrame({"person_id": persons}, schema={"person_id": pl.Utf8}))
    try:
        latest = store.df("SELECT pm.person_id, max(m.event_date)::DATE AS latest FROM person_mentions pm "
                          "JOIN mentions m USING (mention_id) SEMI JOIN _rq_persons USING (person_id) GROUP BY 1")
        harm = (store.df("SELECT person_id, count(*) FILTER (WHERE harmed) AS harmed, "
                         "count(*) FILTER (WHERE offender) AS offender FROM network_mentions "
                         "SEMI JOIN _rq_persons USING (person_id) GROUP BY 1")
                if "network_mentions" in store.tables() else pl.DataFrame(schema={"person_id": pl.Utf8,
                                                                                  "harmed": pl.Int64,
                                                                                  "offender": pl.Int64}))
    finally:
        store.unregister("_rq_persons")
    counts = {p: (int(h or 0), int(o or 0)) for p, h, o in harm.iter_rows()}
    return {p: (counts.get(p, (0, 0))[0], d, counts.get(p, (0, 0))[1]) for p, d in latest.iter_rows()}


def key_mentions(store: Store, wanted: list[tuple[str, str]]) -> list[list[dict[str, Any]]]:
    """For each (person, linked mention): the person's key mentions, the linked one first, then
    their latest others (at most KEY_MENTIONS). One query for all of them."""
    if not wanted:
        return []
    store.register("_rq_want", pl.DataFrame({"slot": list(range(len(wanted))), "person_id": [p for p, _ in wanted],
                                             "linked": [m for _, m in wanted]},
                                            schema={"slot": pl.Int64, "person_id": pl.Utf8, "linked": pl.Utf8}))
    try:
        rows = store.rows(
            f"SELECT w.slot, {', '.join('m.' + c for c in MENTION_FIELDS)} FROM _rq_want w "
            "JOIN person_mentions pm ON pm.person_id = w.person_id JOIN mentions m USING (mention_id) "
            "QUALIFY row_number() OVER (PARTITION BY w.slot ORDER BY (m.mention_id = w.linked) DESC, "
            "m.event_date DESC NULLS LAST, m.mention_id) <= ? "
            "ORDER BY w.slot, (m.mention_id = w.linked) DESC, m.event_date DESC NULLS LAST, m.mention_id",
            [KEY_MENTIONS])
    finally:
        store.unregister("_rq_want")
    out: list[list[dict[str, Any]]] = [[] for _ in wanted]
    for r in rows:
        out[r.pop("slot")].append(r)
    return out


def _ordinal(d: Any) -> int:
    if isinstance(d, datetime):
        return d.date().toordinal()
    return d.toordinal() if isinstance(d, date) else 0


@dataclass(frozen=True)
class RankedQueue:
    """The whole band ranked (no key mentions yet): what a page of it is cut from. The API keeps
    one per store state (api/review_cache.py): ranking needs the possible findings, which run
    every rule over the population once more (~30 s at 1.1M mentions). The items at stake come
    first, so the queue proper is ``items[:at_stake]``."""
    review_threshold: float
    identity_threshold: float
    possible_findings: int
    items: tuple[dict[str, Any], ...]   # ranked; rank, item_id, link, completes_findings, harm, latest, at_stake
    at_stake: int = 0

    @property
    def completing(self) -> int:
        return sum(1 for it in self.items if it["completes_findings"])

    def scoped(self, everything: bool = False) -> tuple[dict[str, Any], ...]:
        """The queue proper (items at stake), or with ``everything`` the whole band."""
        return self.items if everything else self.items[:self.at_stake]

    def summary(self, everything: bool = False) -> dict[str, Any]:
        return {"review_threshold": self.review_threshold, "identity_threshold": self.identity_threshold,
                "total": len(self.scoped(everything)), "completing": self.completing,
                "band_links": len(self.items), "not_at_stake": len(self.items) - self.at_stake,
                "scope": "all" if everything else "at_stake", "possible_findings": self.possible_findings}


def rank_queue(store: Store, config: dict[str, Any]) -> RankedQueue:
    """Every review item, ranked (module docstring)."""
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
        sa, sb = stakes.get(pa, (0, None, 0)), stakes.get(pb, (0, None, 0))
        harm, offender = sa[0] + sb[0], sa[2] + sb[2]
        latest = max((d for d in (sa[1], sb[1]) if d is not None), default=None)
        at_stake = bool(completes or harm or offender)
        ranked.append(({**r, "completes_findings": completes, "harmed_records": harm, "offender_records": offender,
                        "latest_event": latest, "at_stake": at_stake},
                       (not completes, not at_stake, -harm, -_ordinal(latest), -r["match_probability"],
                        r["mention_a"], r["mention_b"])))
    ranked.sort(key=lambda x: x[1])
    items = tuple({"rank": rank, "item_id": f"{it['mention_a']}|{it['mention_b']}",
                   "mention_a": it["mention_a"], "mention_b": it["mention_b"],
                   "person_a": it["person_a"], "person_b": it["person_b"],
                   "match_probability": it["match_probability"], "match_weight": it["match_weight"],
                   "completes_findings": it["completes_findings"],
                   "harmed_records": it["harmed_records"], "offender_records": it["offender_records"],
                   "at_stake": it["at_stake"], "latest_event": it["latest_event"]}
                  for rank, (it, _) in enumerate(ranked, 1))
    return RankedQueue(low, high, len(possible), items, sum(1 for it in items if it["at_stake"]))


def page_items(store: Store, ranked: RankedQueue, offset: int = 0, limit: int | None = None, *,
               explain: bool = False, known: dict[str, dict[str, Any]] | None = None,
               everything: bool = False) -> list[dict[str, Any]]:
    """Items ``offset .. offset + limit`` of the ranked queue (``limit`` None: to the end; with
    ``everything`` of the whole band), each with both persons' key mentions (and with ``explain``
    the waterfall of its link). ``known``: items already completed (item_id -> item) from the same
    store state, reused and added to."""
    scope = ranked.scoped(everything)
    chosen = scope[offset:] if limit is None else scope[offset: offset + limit]
    known = {} if known is None else known
    missing = [it for it in chosen if it["item_id"] not in known]
    found = key_mentions(store, [pair for it in missing for pair in ((it["person_a"], it["mention_a"]),
                                                                     (it["person_b"], it["mention_b"]))])
    for i, it in enumerate(missing):
        known[it["item_id"]] = {**it, "mentions_a": found[2 * i], "mentions_b": found[2 * i + 1]}
    items = [_copy(known[it["item_id"]]) for it in chosen]
    if explain:
        for item in items:
            item["explain"] = explain_pair(store, item["mention_a"], item["mention_b"])
    return items


def _copy(item: dict[str, Any]) -> dict[str, Any]:
    """A caller's own copy (an answer is edited on its way out; the kept one must not be)."""
    return {**item, "completes_findings": [dict(f) for f in item["completes_findings"]],
            "mentions_a": [dict(m) for m in item["mentions_a"]], "mentions_b": [dict(m) for m in item["mentions_b"]]}


def review_queue(store: Store, config: dict[str, Any], *, limit: int | None = 50,
                 explain: bool = False, everything: bool = False) -> dict[str, Any]:
    """The ranked queue: ``{"review_threshold", "identity_threshold", "total" (items queued),
    "completing", "band_links" (every review link, at stake or not), "not_at_stake", "scope"
    ('at_stake' or 'all'), "possible_findings", "items": [...]}`` with at most ``limit`` items
    (None: all); ``everything``: the links with nothing at stake too, ranked after the others."""
    ranked = rank_queue(store, config)
    return {**ranked.summary(everything),
            "items": page_items(store, ranked, 0, limit, explain=explain, everything=everything)}
