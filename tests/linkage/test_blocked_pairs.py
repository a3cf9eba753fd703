"""The union of the blocking rules gives Splink's own blocked pairs, and the same scores."""

from __future__ import annotations

import pytest

from core.config import load_config
from linkage import scoring
from linkage.blocked_pairs import linker_union_sql, union_applies, union_blocked_pairs_sql
from linkage.model import latest_model, open_linker
from linkage.scoring import score_all

EDGES = "SELECT mention_a, mention_b, match_probability, match_weight FROM link_edges ORDER BY ALL"


@pytest.mark.parametrize("pair_id", [None, "n"])
def test_a_pair_two_rules_make_is_kept_once_under_the_first(store, pair_id):
    # n numbers the records in the order of their keys, as scoring numbers them
    store.execute("CREATE TEMP TABLE people AS SELECT * FROM (VALUES "
                  "('a', 1, 'smith', 1980, 'x'), ('b', 2, 'smith', 1980, 'x'), ('c', 3, 'smith', 1991, 'x'), "
                  "('d', 4, 'jones', 1991, 'y'), ('e', 5, NULL, 1991, 'y')) AS t(k, n, surname, yob, town)")
    rules = ["l.surname = r.surname AND l.yob = r.yob",     # 0: a-b
             "l.town = r.town",                            # 1: a-b (already 0's), a-c, b-c, d-e
             "l.yob = r.yob AND l.surname = r.surname"]    # 2: nothing new
    rows = store.rows(f"SELECT * FROM ({union_blocked_pairs_sql(rules, 'people', 'k', pair_id)}) ORDER BY ALL")
    assert [(r["match_key"], r["join_key_l"], r["join_key_r"]) for r in rows] == [
        ("0", "a", "b"), ("1", "a", "c"), ("1", "b", "c"), ("1", "d", "e")]


def test_no_rules_is_refused():
    with pytest.raises(ValueError, match="no blocking rules"):
        union_blocked_pairs_sql([], "t", "k")


def test_the_union_is_splinks_blocked_pairs_on_a_world(tstore):
    with open_linker(tstore, latest_model(tstore)) as s:
        assert union_applies(s.linker)
        tstore.execute(f"CREATE TEMP TABLE keyed AS SELECT *, {scoring.PAIR_KEY_SQL} AS k, "
                       f"row_number() OVER (ORDER BY {scoring.PAIR_KEY_SQL}) AS n FROM {s.table}")
        ours = tstore.rows(f"SELECT * FROM ({linker_union_sql(s.linker, 'keyed', 'k')}) ORDER BY ALL")
        by_number = tstore.rows(f"SELECT * FROM ({linker_union_sql(s.linker, 'keyed', 'k', 'n')}) ORDER BY ALL")
        theirs = s.linker.inference.compute_blocked_pairs_for_predict()
        splinks = tstore.rows(f"SELECT match_key, join_key_l, join_key_r FROM {theirs.physical_name} ORDER BY ALL")
        tstore.execute("DROP TABLE keyed")
    assert len(ours) > 1000
    assert ours == splinks
    assert by_number == splinks


def test_score_all_gives_the_same_edges_with_the_union_as_with_splinks_blocking(tstore, monkeypatch):
    model, config = latest_model(tstore), load_config()
    report = score_all(tstore, model, config)
    assert report["blocked_pairs"] == "union"
    with_union = tstore.rows(EDGES)
    monkeypatch.setattr(scoring, "union_applies", lambda linker: False)
    assert score_all(tstore, model, config)["blocked_pairs"] == "splink"
    assert tstore.rows(EDGES) == with_union and len(with_union) > 100
    # nothing of the union is left behind
    left = tstore.rows("SELECT table_name AS name FROM duckdb_tables() UNION ALL SELECT view_name FROM duckdb_views()")
    assert not {r["name"] for r in left} & {scoring.PAIRS_TABLE, scoring.KEYED_TABLE}
