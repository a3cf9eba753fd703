"""Possible findings: what the rules would find if the doubtful links in review were true.

Every enabled rule (graphs.pipeline) runs once more over the population with each group of
persons joined through review-band links (linkage/review.py) taken as one person. A finding on
such a group that none of its persons has on their own under the same rule holds only through
unconfirmed links: a *possible* finding. Each names the links it rests on with their
probabilities, so an analyst sees what is at stake in a review item, and the review queue
ranks first the items that would complete a finding (findings/review.py).

Groups are formed strongest link first and never join two persons that a 'different' decision
or a cannot-link pair holds apart (the same constrained clustering as identity's,
linkage.clusters.cluster_mentions, over persons instead of mentions).
"""

from __future__ import annotations

from typing import Any

import polars as pl

from graphs.pipeline import compute_all
from findings.analytics import mentions_frame
from core.store import Store
from linkage.clusters import cluster_mentions

GROUP_SEPARATOR = "+"


def person_groups(links: pl.DataFrame, apart: pl.DataFrame, threshold: float) -> dict[str, str]:
    """person_id -> group id ('P1+P2+...', its members sorted) for every person that a review
    link joins to another; ``apart``: person pairs (person_a, person_b) never to be joined."""
    if not links.height:
        return {}
    persons = sorted(set(links["person_a"].to_list()) | set(links["person_b"].to_list()))
    edges = links.select(pl.col("person_a").alias("mention_a"), pl.col("person_b").alias("mention_b"),
                         "match_probability")
    c = cluster_mentions(persons, edges, threshold, cannot_link=apart.select(
        pl.col("person_a").alias("mention_a"), pl.col("person_b").alias("mention_b")))
    groups = [g for g in c.clusters() if len(g) > 1]
    return {p: GROUP_SEPARATOR.join(g) for g in groups for p in g}


def possible_findings(store: Store, config: dict[str, Any], links: pl.DataFrame, apart: pl.DataFrame,
                      threshold: float) -> list[dict[str, Any]]:
    """The findings that hold only through review links: rule, group, persons, measure,
    explanation, evidence (the rule's JSON: the events and records it rests on), and ``links``
    (each unconfirmed link inside the group and its probability)."""
    groups = person_groups(links, apart, threshold)
    if not groups:
        return []
    frame = mentions_frame(store)
    mapping = pl.DataFrame({"person_id": list(groups), "group_id": list(groups.values())})
    joined = (frame.join(mapping, on="person_id", how="left")
              .with_columns(pl.coalesce("group_id", "person_id").alias("person_id")).drop("group_id"))
    found = compute_all(joined, config)["findings"]
    found = found.filter(pl.col("person_id").is_not_null() & pl.col("person_id").str.contains(GROUP_SEPARATOR,
                                                                                             literal=True))
    if not found.height:
        return []
    confirmed = {(r["rule"], r["person_id"]) for r in store.rows(
        "SELECT DISTINCT rule, person_id FROM findings WHERE person_id IS NOT NULL")}
    by_group: dict[str, list[dict[str, Any]]] = {}
    for r in links.iter_rows(named=True):
        g = groups.get(r["person_a"])
        if g is not None and g == groups.get(r["person_b"]):
            by_group.setdefault(g, []).append({k: r[k] for k in ("mention_a", "mention_b", "person_a", "person_b",
                                                                 "match_probability")})
    out = []
    for f in found.iter_rows(named=True):
        members = f["person_id"].split(GROUP_SEPARATOR)
        if any((f["rule"], p) in confirmed for p in members):
            continue   # one of them has it already: the link adds nothing to this rule
        out.append({"rule": f["rule"], "subject": f["subject"], "group": f["person_id"], "person_ids": members,
                    "first_date": f["first_date"], "last_date": f["last_date"], "measure": f["measure"],
                    "severity": f["severity"], "explanation": f["explanation"], "evidence": f["evidence"],
                    "links": by_group.get(f["person_id"], [])})
    return out
