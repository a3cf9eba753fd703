"""Analytics on a generated world: every planted case the extracts can show is found by its rule,
and each rule's precision against the same rule on the true world is 0.9 or better (persons from
truth: this tests the rules and the household derivation, not linkage)."""

from __future__ import annotations

from bench.analytics import validate


def test_planted_cases_found_and_precision_against_true_world(tmp_path):
    res = validate(households=1000, seed=8, persons="truth", workdir=tmp_path)
    per_rule = res["per_rule"]
    # a planted case missed here is one the true world cannot show either
    assert [m for m in res["missed_planted"] if m["found_in_true_world"]] == []
    for rule, r in per_rule.items():
        if r.get("planted_detectable"):
            assert r["recall_planted_detectable"] == 1.0, (rule, r)
        assert r["found"] > 0, rule
        assert r["precision"] >= 0.9, (rule, r)
    assert per_rule["repeat_victim"]["recall_planted"] == 1.0
