"""The model's DuckDB SQL as Spark SQL: every shipped level and rule translates, unknowns are refused."""

from __future__ import annotations

import pytest
import sqlglot

from core.config import load_config
from core.errors import IntelError
from linkage.model import settings_creator
from linkage.spark_sql import spark_settings, to_spark

LISTS = ("forename_aliases", "surname_parts", "address_tokens")


def test_duckdb_list_functions_and_lambdas_become_spark_array_functions() -> None:
    sql = ("len(list_filter(address_tokens_l, lambda x: list_bool_or(list_transform(address_tokens_r, "
           "lambda y: jaro_winkler_similarity(x, y) >= 0.88)))) >= 0.6 * greatest(len(address_tokens_l), 1)")
    out = to_spark(sql, LISTS)
    # any() of a transform is one exists with the transform's lambda (no array of results built)
    assert out == ("SIZE(FILTER(address_tokens_l, x -> EXISTS(address_tokens_r, y -> "
                   "JARO_WINKLER(x, y) >= 0.88))) >= 0.6 * GREATEST(SIZE(address_tokens_l), 1)")
    assert to_spark("list_bool_or(xs_l)", LISTS) == "EXISTS(xs_l, _any -> _any)"
    assert to_spark("array_length(list_intersect(surname_parts_l, surname_parts_r)) >= 1", LISTS) == \
        "SIZE(ARRAY_INTERSECT(surname_parts_l, surname_parts_r)) >= 1"
    # len of a string stays a string length; Splink's jar functions pass through
    assert to_spark("len(forename_l) = 1 AND damerau_levenshtein(postcode_l, postcode_r) <= 1", LISTS) == \
        "LENGTH(forename_l) = 1 AND DAMERAU_LEVENSHTEIN(postcode_l, postcode_r) <= 1"


def test_every_shipped_level_and_rule_translates_to_parseable_spark_sql() -> None:
    settings = settings_creator(load_config()).create_settings_dict("duckdb")
    spark = spark_settings(settings, LISTS)
    assert spark["sql_dialect"] == "spark"
    conditions = [lv["sql_condition"] for c in spark["comparisons"] for lv in c["comparison_levels"]
                  if lv["sql_condition"] != "ELSE"]
    rules = [r["blocking_rule"] for r in spark["blocking_rules_to_generate_predictions"]]
    assert len(rules) == len(settings["blocking_rules_to_generate_predictions"])
    for sql in conditions + rules:
        sqlglot.parse_one(sql, read="spark")          # Spark SQL that parses
        assert "list_" not in sql.lower() and "lambda" not in sql and "JAROWINKLER" not in sql.upper()
    # parameters are untouched: only the SQL changes
    for a, b in zip(settings["comparisons"], spark["comparisons"]):
        for la, lb in zip(a["comparison_levels"], b["comparison_levels"]):
            assert {k: v for k, v in la.items() if k != "sql_condition"} == \
                {k: v for k, v in lb.items() if k != "sql_condition"}


@pytest.mark.parametrize("sql, name", [
    ("list_has_all(surname_parts_l, surname_parts_r)", "list_has_all"),
    ("levenshtein_ratio(forename_l, forename_r) > 0.9", "levenshtein_ratio"),
])
def test_a_function_without_a_spark_translation_is_refused_by_name(sql: str, name: str) -> None:
    with pytest.raises(IntelError, match=f"comparison 'x' level 'y' uses .*{name}.*cannot translate"):
        to_spark(sql, LISTS, where="comparison 'x' level 'y'")


def test_unreadable_sql_is_refused_with_where_it_is() -> None:
    with pytest.raises(IntelError, match="blocking rule 3: its SQL cannot be read"):
        to_spark("l.a = = r.a", LISTS, where="blocking rule 3")
