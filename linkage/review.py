"""The clerical-review band: links too doubtful to merge on, too strong to ignore.

A model link between two different persons with probability in [``[identity] review_threshold``,
``[identity] threshold``) is a *review link*; so is a link at or above the threshold that
clustering did not follow (a contested record, linkage/contested.py: it matches two people who
cannot be one as well as it matches either; or two trusted agency ids). The queue is derived, not stored: it is read from
``link_edges`` (rescored each night), so it always reflects the last run. Per pair of persons one
item: their strongest review link. Left out:

- a pair of persons that a person's 'different' decision already holds apart (on any of their
  mentions), or that holds a cannot-link pair (linkage/cannot_link.py) between them;
- links touching a mention that may not be tied to anyone (fewer than two identifiers).

Settling an item is a 'same' / 'different' decision (linkage/decisions.py) on its two mentions;
:func:`settle` first checks the item is still queued, so a stale screen cannot decide a link the
night's run has already settled or dropped.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from core.errors import Conflict, IntelError, NotFound
from core.store import Store
from linkage.cannot_link import cannot_link_pairs
from linkage.decisions import DECISIONS, check_decision, decide
from linkage.run import identity_threshold, review_threshold, unlinkable_mentions  # noqa: F401 (review_threshold: callers import it from here)

LINK_SCHEMA = {"person_a": pl.Utf8, "person_b": pl.Utf8, "mention_a": pl.Utf8, "mention_b": pl.Utf8,
               "match_probability": pl.Float64, "match_weight": pl.Float64}


def review_links(store: Store, config: dict[str, Any]) -> pl.DataFrame:
    """One row per queued pair of persons (person_a < person_b): its strongest review link,
    mention_a in person_a and mention_b in person_b. Sorted by probability, strongest first."""
    low = review_threshold(config)
    if "link_edges" not in store.tables():
        return pl.DataFrame(schema=LINK_SCHEMA)
    band = store.df(
        "SELECT pa.person_id AS pa, pb.person_id AS pb, e.mention_a, e.mention_b, "
        "e.match_probability::DOUBLE AS match_probability, e.match_weight::DOUBLE AS match_weight "
        "FROM link_edges e JOIN person_mentions pa ON pa.mention_id = e.mention_a "
        "JOIN person_mentions pb ON pb.mention_id = e.mention_b "
        "WHERE e.match_probability >= ? AND pa.person_id <> pb.person_id",
        [low])
    unlinkable = unlinkable_mentions(store)
    if unlinkable:
        out = pl.Series(unlinkable, dtype=pl.Utf8).implode()  # one list: polars asks membership so
        band = band.filter(~pl.col("mention_a").is_in(out) & ~pl.col("mention_b").is_in(out))
    if not band.height:
        return pl.DataFrame(schema=LINK_SCHEMA)
    # orient each link so that person_a < person_b
    swap = pl.col("pa") > pl.col("pb")
    band = band.select(
        pl.when(swap).then("pb").otherwise("pa").alias("person_a"),
        pl.when(swap).then("pa").otherwise("pb").alias("person_b"),
        pl.when(swap).then("mention_b").otherwise("mention_a").alias("mention_a"),
        pl.when(swap).then("mention_a").otherwise("mention_b").alias("mention_b"),
        "match_probability", "match_weight")
    persons = sorted(set(band["person_a"].to_list()) | set(band["person_b"].to_list()))
    band = band.join(held_apart(store, config, persons), on=["person_a", "person_b"], how="anti")
    return (band.sort(["match_probability", "mention_a", "mention_b"], descending=[True, False, False])
            .unique(["person_a", "person_b"], keep="first", maintain_order=True)
            .select(list(LINK_SCHEMA)).cast(LINK_SCHEMA))


def held_apart(store: Store, config: dict[str, Any], persons: list[str]) -> pl.DataFrame:
    """Pairs of these persons (person_a < person_b) that a 'different' decision or a cannot-link
    pair between their mentions holds apart."""
    store.register("_rv_persons", pl.DataFrame({"person_id": sorted(set(persons))}, schema={"person_id": pl.Utf8}))
    try:
        members = store.df("SELECT mention_id, person_id FROM person_mentions SEMI JOIN _rv_persons USING (person_id)")
    finally:
        store.unregister("_rv_persons")
    different = store.df("SELECT mention_a, mention_b FROM link_decisions WHERE decision = 'different'")
    apart = pl.concat([cannot_link_pairs(store, config, scope=members["mention_id"].to_list())
                       .select("mention_a", "mention_b"), different.cast(pl.Utf8)])
    of = members.rename({"mention_id": "m", "person_id": "p"})
    return (apart.join(of, left_on="mention_a", right_on="m").join(of, left_on="mention_b", right_on="m", suffix="_b")
            .filter(pl.col("p") != pl.col("p_b"))
            .select(pl.min_horizontal("p", "p_b").alias("person_a"), pl.max_horizontal("p", "p_b").alias("person_b"))
            .unique().sort("person_a", "person_b"))


def settle_check(store: Store, mention_a: str, mention_b: str, decision: str, *, config: dict[str, Any]) -> None:
    """Refuse (NotFound / Conflict / IntelError; reads only) a decision on two mentions unless
    their two persons' pair is in the review queue now."""
    a, b = (mention_a or "").strip(), (mention_b or "").strip()
    found = {r["mention_id"]: r["person_id"] for r in store.rows(
        "SELECT m.mention_id, pm.person_id FROM mentions m LEFT JOIN person_mentions pm USING (mention_id) "
        "WHERE m.mention_id IN (?, ?)", [a, b])}
    for m in (a, b):
        if m not in found:
            raise NotFound(f"no record {m!r} (give SOURCE:RECORD_ID, e.g. police:P000123)")
    if decision not in DECISIONS:
        raise IntelError(f"decision must be 'same' or 'different', got {decision!r}")
    pa, pb = found[a], found[b]
    if pa is not None and pa == pb:
        check_decision(store, min(a, b), max(a, b), decision)   # names the decisions it would contradict
        raise Conflict(f"{a} and {b} are no longer in the review queue: both are now person {pa}")
    queue = review_links(store, config)
    key = (min(pa or "", pb or ""), max(pa or "", pb or ""))
    hit = queue.filter((pl.col("person_a") == key[0]) & (pl.col("person_b") == key[1]))
    if not hit.height:
        earlier = store.rows(
            "SELECT decision_id, decision, decided_by, decided_at FROM link_decisions "
            "WHERE (mention_a, mention_b) = (?, ?) ORDER BY decision_id DESC LIMIT 1", sorted((a, b)))
        why = (f"decision {earlier[0]['decision_id']} ({earlier[0]['decision']}, by {earlier[0]['decided_by']} on "
               f"{earlier[0]['decided_at']:%Y-%m-%d %H:%M}) already settled it" if earlier else
               f"no link between persons {pa} and {pb} is in the review band now "
               f"[{review_threshold(config)}, {identity_threshold(config)}) (rescored, decided or held apart)")
        raise Conflict(f"{a} and {b} are not in the review queue: {why}")


def settle(store: Store, mention_a: str, mention_b: str, decision: str, by: str, reason: str, *,
           config: dict[str, Any]) -> dict[str, Any]:
    """Decide a queued review item: refused (nothing changed) unless it is queued now
    (:func:`settle_check`); then as :func:`linkage.decisions.decide`, which refuses a decision
    contradicting earlier ones, naming them."""
    settle_check(store, mention_a, mention_b, decision, config=config)
    return decide(store, mention_a, mention_b, decision, by, reason, config=config)
