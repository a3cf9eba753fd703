"""How far two person assignments of the same mentions agree (e.g. the DuckDB and Spark engines').

Pairwise, over every pair of mentions: ``agreement`` is the share of all pairs that both put
together or both keep apart (the Rand index; with many mentions nearly every pair is apart in
both, so it is close to 1 by construction), and ``f1`` the stricter figure, the pairwise F1 of
``b``'s together-pairs against ``a``'s (1.0 when they put exactly the same pairs together).
Counted from cluster sizes, never by listing pairs, so it runs on millions of mentions.
"""

from __future__ import annotations

from typing import Any

import polars as pl


def _pairs(sizes: pl.Series) -> int:
    return int((sizes.cast(pl.Int64) * (sizes.cast(pl.Int64) - 1) // 2).sum())


def person_agreement(a: pl.DataFrame, b: pl.DataFrame) -> dict[str, Any]:
    """``a``, ``b``: frames of (mention_id, person_id) over the same mentions."""
    a = a.select("mention_id", pl.col("person_id").alias("pa"))
    b = b.select("mention_id", pl.col("person_id").alias("pb"))
    only = a.join(b, on="mention_id", how="anti").height + b.join(a, on="mention_id", how="anti").height
    if only:
        raise ValueError(f"{only} mentions are in one assignment and not the other")
    both = a.join(b, on="mention_id")
    n = both.height
    together_a = _pairs(both.group_by("pa").len()["len"])
    together_b = _pairs(both.group_by("pb").len()["len"])
    together_both = _pairs(both.group_by("pa", "pb").len()["len"])
    total = n * (n - 1) // 2
    disagree = together_a + together_b - 2 * together_both
    precision = together_both / together_b if together_b else 1.0
    recall = together_both / together_a if together_a else 1.0
    persons_a, persons_b = both["pa"].n_unique(), both["pb"].n_unique()
    return {
        "mentions": n,
        "pairs_together_a": together_a, "pairs_together_b": together_b, "pairs_together_both": together_both,
        "pairs_disagreeing": disagree,
        "agreement": 1.0 - disagree / total if total else 1.0,
        "precision": precision, "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "persons_a": persons_a, "persons_b": persons_b,
        "persons_difference": abs(persons_a - persons_b) / persons_a if persons_a else 0.0,
    }
