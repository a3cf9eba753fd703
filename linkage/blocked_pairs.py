"""Blocked pairs for a full link: each blocking rule joined alone, the pairs unioned, each pair once.

Splink makes the candidate pairs of a model's blocking rules rule by rule, and each rule's join
excludes the pairs of every rule before it: rule k's join carries ``AND NOT (rule_1 OR ... OR
rule_k-1)``, evaluated on every candidate pair rule k's equalities produce. Since the namesake
conditions (issue 19: list_intersect of the address words, a day one keystroke off, ...) those
earlier rules are expensive, and the exclusion was most of the link: at 1,017,754 mentions
Splink's blocking took 117 s of a 136 s predict, against 33 s before those conditions.

Here each rule's join runs alone, the pairs are unioned, and a pair that several rules make is kept
once under the first of them (its ``match_key``, the rule's index, as Splink numbers them): the
very table Splink makes (the same rows at 1M: docs/scale.md; tests/linkage/test_blocked_pairs.py
compares them), in 22-26 s. It is handed to Splink with ``register_blocked_pairs_for_predict``,
so comparisons, scores and term frequencies stay Splink's. Both engines use it: the SQL is plain
enough for DuckDB and for Spark.

Only for the link types a full link uses (one input or one per agency, every pair once with the
smaller key on the left) and plain blocking rules; anything else is left to Splink
(``union_applies``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from splink.internals.blocking import BlockingRule

# the link types whose pairs are "every pair once, smaller key left" (Splink's where condition)
LINK_TYPES = ("dedupe_only", "link_and_dedupe")


def prediction_rules(linker: Any) -> list[Any]:
    """The model's blocking rules for prediction, as Splink parsed them (its order is the match_key)."""
    return list(linker._settings_obj._blocking_rules_to_generate_predictions)


def union_applies(linker: Any) -> bool:
    """Whether the union reproduces Splink's pairs for this linker: a link type above, and only
    plain rules (an exploding rule's pairs are made from materialised id lists, not one join)."""
    rules = prediction_rules(linker)
    return (linker._settings_obj._link_type in LINK_TYPES and bool(rules)
            and all(type(br) is BlockingRule for br in rules))


def union_blocked_pairs_sql(rules: Sequence[str], table: str, key: str, pair_id: str | None = None) -> str:
    """SQL for the blocked pairs of ``rules`` (their SQL, over ``l`` and ``r``) on ``table``,
    whose column ``key`` is each record's unique key as Splink composes it (``join_key_l`` /
    ``join_key_r``). One row per pair, ``join_key_l < join_key_r``, ``match_key`` the index of the
    first rule that makes it, as text.

    ``pair_id``: a whole-number column of ``table`` numbering the records in the order of ``key``
    (so ``l.id < r.id`` exactly when ``l.key < r.key``). The rules' pairs (about six times the
    distinct pairs at 1M: 52M for 8.7M) are then deduplicated as pairs of numbers and the keys
    joined on once at the end: at 1M the peak memory of the union is 3.3 GiB instead of 7.7 GiB
    with the text keys. Without it the keys themselves are grouped (Spark, which spills)."""
    if not rules:
        raise ValueError("no blocking rules: nothing to union")
    side = pair_id or key
    parts = [rule_pairs_sql(i, rule, table, side) for i, rule in enumerate(rules)]
    pairs = first_rule_sql("(" + " UNION ALL ".join(parts) + ")")
    if pair_id is None:
        return keyed_pairs_sql(f"({pairs})")
    return (f"SELECT CAST(p.rule_index AS STRING) AS match_key, l.{key} AS join_key_l, r.{key} AS join_key_r "
            f"FROM ({pairs}) AS p INNER JOIN {table} AS l ON l.{pair_id} = p.side_l "
            f"INNER JOIN {table} AS r ON r.{pair_id} = p.side_r")


def rule_pairs_sql(index: int, rule: str, table: str, side: str) -> str:
    """One rule's candidate pairs (``rule_index``, ``side_l`` < ``side_r``), duplicates of other
    rules' pairs included."""
    return (f"SELECT {index} AS rule_index, l.{side} AS side_l, r.{side} AS side_r "
            f"FROM {table} AS l INNER JOIN {table} AS r ON ({rule}) WHERE l.{side} < r.{side}")


def first_rule_sql(candidates: str) -> str:
    """Each pair of ``candidates`` (rule_pairs_sql's rows, unioned) once, under its first rule."""
    return (f"SELECT min(rule_index) AS rule_index, side_l, side_r FROM {candidates} AS candidate_pairs "
            "GROUP BY side_l, side_r")


def keyed_pairs_sql(pairs: str) -> str:
    """first_rule_sql's pairs of keys as Splink's blocked pairs table."""
    return f"SELECT CAST(rule_index AS STRING) AS match_key, side_l AS join_key_l, side_r AS join_key_r FROM {pairs} AS p"


def linker_union_sql(linker: Any, table: str, key: str, pair_id: str | None = None) -> str:
    """``union_blocked_pairs_sql`` for the linker's own prediction rules (in its SQL dialect)."""
    return union_blocked_pairs_sql([br.blocking_rule_sql for br in prediction_rules(linker)], table, key, pair_id)


def register_for_predict(linker: Any, pairs: Any) -> Any:
    """Hand Splink the blocked pairs (a SplinkDataFrame): its next ``predict()`` scores them."""
    return linker.table_management.register_blocked_pairs_for_predict(pairs)


__all__ = ["LINK_TYPES", "first_rule_sql", "keyed_pairs_sql", "linker_union_sql", "prediction_rules",
           "register_for_predict", "rule_pairs_sql", "union_applies", "union_blocked_pairs_sql"]
