"""The trained model's SQL, translated from DuckDB to Spark SQL.

A saved model (``linkage_models.model_json``) holds its comparison levels and blocking rules as
DuckDB SQL strings: Splink keeps no record of the dialect a custom level was written in, and
sqlglot's own DuckDB-to-Spark translation leaves DuckDB's list functions as they are (Spark has
no ``list_intersect``) and cannot read DuckDB's ``lambda x: ...``. ``spark_settings`` makes a
copy of the model's settings with every condition and rule rewritten for Spark, its trained m
and u probabilities, prior and term-frequency columns untouched, so Spark scores with exactly
the parameters DuckDB scores with.

The rewrite is explicit, not best-effort: each DuckDB function the model uses is mapped to its
Spark twin (``jaro_winkler_similarity`` to the Jaro-Winkler function of the jar that ships with
Splink, ``len`` of a list to ``size``, ``list_intersect`` to ``array_intersect``, ``list_filter``
/ ``list_transform`` to ``filter`` / ``transform``, ``list_bool_or(xs)`` to ``exists(xs, v -> v)``),
and a function that is neither mapped nor known to mean the same in Spark is refused with its
name, so a model change that the Spark engine does not yet understand fails loudly instead of
scoring differently.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from typing import Any

import sqlglot
from sqlglot import exp

from core.errors import IntelError

# Anonymous (sqlglot does not model them) functions allowed in the Spark SQL, with their meaning
# the same on both sides: Splink's jar UDFs and Spark built-ins the rewrite produces.
SPARK_FUNCTIONS = frozenset({"jaro_winkler", "jaro_sim", "damerau_levenshtein", "array_intersect", "exists"})

# DuckDB list functions -> Spark array functions of the same meaning (argument order kept).
_RENAMES = {"list_intersect": "array_intersect"}

_LAMBDA = re.compile(r"\blambda\s+(\w+)\s*:")


def _is_list(node: exp.Expression, list_columns: frozenset[str]) -> bool:
    """Whether ``node`` is list-valued, so DuckDB's ``len`` of it is Spark's ``size``."""
    if isinstance(node, (exp.ArrayFilter, exp.Transform, exp.Array, exp.ArrayIntersect)):
        return True
    if isinstance(node, exp.Anonymous) and node.name.lower() in ("list_intersect", "array_intersect"):
        return True
    if isinstance(node, exp.Column):
        return re.sub(r"_[lr]$", "", node.name) in list_columns
    return False


def _rewrite(node: exp.Expression, list_columns: frozenset[str]) -> exp.Expression:
    if isinstance(node, exp.JarowinklerSimilarity):
        return exp.Anonymous(this="jaro_winkler", expressions=[node.this, node.expression])
    if isinstance(node, exp.Anonymous):
        name = node.name.lower()
        if name in _RENAMES:
            return exp.Anonymous(this=_RENAMES[name], expressions=list(node.expressions))
        if name == "list_bool_or":
            xs = node.expressions[0]
            if isinstance(xs, exp.Transform):
                # any(f(y) for y in ys): Spark's exists(ys, y -> f(y)) builds no array of f's values
                # and stops at the first true; the same three-valued answer as the form below
                return exp.Anonymous(this="exists", expressions=[xs.this, xs.expression])
            v = exp.to_identifier("_any")
            return exp.Anonymous(this="exists", expressions=[
                xs, exp.Lambda(this=v.copy(), expressions=[v.copy()])])
    if isinstance(node, exp.Length) and _is_list(node.this, list_columns):
        return exp.ArraySize(this=node.this)
    return node


def to_spark(sql: str, list_columns: Iterable[str] = (), *, where: str = "the model") -> str:
    """One DuckDB condition or blocking rule as Spark SQL; IntelError naming ``where`` if it
    uses a function the Spark engine has no translation for."""
    cols = frozenset(list_columns)
    try:
        tree = sqlglot.parse_one(_LAMBDA.sub(r"\1 ->", sql), read="duckdb")
    except sqlglot.errors.ParseError as exc:
        raise IntelError(f"{where}: its SQL cannot be read for translation to Spark ({str(exc)[:200]}): {sql[:200]}") from exc
    for _ in range(8):   # rewrites nest (len(list_intersect(...))): repeat until nothing changes
        before = tree.sql(dialect="duckdb")
        tree = tree.transform(lambda n: _rewrite(n, cols))
        if tree.sql(dialect="duckdb") == before:
            break
    unknown = sorted({n.name for n in tree.find_all(exp.Anonymous) if n.name.lower() not in SPARK_FUNCTIONS})
    if unknown:
        raise IntelError(
            f"{where} uses {', '.join(unknown)}, which the Spark engine cannot translate from DuckDB "
            f"(linkage/spark_sql.py maps the functions it knows): link with the duckdb engine, or add the "
            f"mapping. SQL: {sql[:200]}")
    return tree.sql(dialect="spark")


def spark_settings(settings: dict[str, Any], list_columns: Iterable[str]) -> dict[str, Any]:
    """A copy of a trained model's Splink settings for the Spark backend: every comparison level's
    condition and every blocking rule in Spark SQL, the parameters unchanged."""
    cols = frozenset(list_columns)
    out = copy.deepcopy(settings)
    out["sql_dialect"] = "spark"
    for comparison in out.get("comparisons", []):
        for level in comparison.get("comparison_levels", []):
            cond = level.get("sql_condition")
            if cond and cond.strip().upper() != "ELSE":
                where = (f"comparison {comparison.get('output_column_name')!r} level "
                         f"{level.get('label_for_charts')!r}")
                level["sql_condition"] = to_spark(cond, cols, where=where)
    rules = []
    for i, rule in enumerate(out.get("blocking_rules_to_generate_predictions", []), 1):
        rule = dict(rule) if isinstance(rule, dict) else {"blocking_rule": rule}
        rule["blocking_rule"] = to_spark(rule["blocking_rule"], cols, where=f"blocking rule {i}")
        rule["sql_dialect"] = "spark"
        rules.append(rule)
    out["blocking_rules_to_generate_predictions"] = rules
    return out
