"""Pairwise and B-cubed figures, worked out by hand."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from core.errors import IntelError
from linkage.evaluate import evaluate_frames, read_truth


def frames(pred: dict[str, str], true: dict[str, str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    p = pl.DataFrame({"source": ["s"] * len(pred), "record_id": list(pred), "person_id": list(pred.values())})
    t = pl.DataFrame({"source": ["s"] * len(true), "record_id": list(true), "person": list(true.values())})
    return p, t


def test_hand_computed_example():
    # truth: {1,2,3} {4,5}; predicted: {1,2} {3,4,5}
    p, t = frames({"1": "A", "2": "A", "3": "B", "4": "B", "5": "B"},
                  {"1": "x", "2": "x", "3": "x", "4": "y", "5": "y"})
    r = evaluate_frames(p, t)
    # predicted pairs: 1 + 3 = 4; true pairs: 3 + 1 = 4; TP: (1,2) and (4,5) = 2
    assert r["pairwise"]["predicted_pairs"] == 4
    assert r["pairwise"]["true_pairs"] == 4
    assert r["pairwise"]["true_positive_pairs"] == 2
    assert r["pairwise"]["precision"] == pytest.approx(0.5)
    assert r["pairwise"]["recall"] == pytest.approx(0.5)
    assert r["pairwise"]["f1"] == pytest.approx(0.5)
    # B-cubed precision per mention: 1:2/2 2:2/2 3:1/3 4:2/3 5:2/3 -> (1+1+1/3+2/3+2/3)/5 = 11/15
    # recall per mention: 1:2/3 2:2/3 3:1/3 4:2/2 5:2/2 -> (2/3+2/3+1/3+1+1)/5 = 11/15
    assert r["bcubed"]["precision"] == pytest.approx(11 / 15)
    assert r["bcubed"]["recall"] == pytest.approx(11 / 15)
    assert r["bcubed"]["f1"] == pytest.approx(11 / 15)


def test_asymmetric_example_and_unmatched_rows():
    # truth {1,2,3,4}; predicted {1,2} {3} {4}; record 9 only predicted, 8 only in truth
    p, t = frames({"1": "A", "2": "A", "3": "B", "4": "C", "9": "Z"},
                  {"1": "x", "2": "x", "3": "x", "4": "x", "8": "w"})
    r = evaluate_frames(p, t)
    assert (r["mentions_compared"], r["predicted_only"], r["truth_only"]) == (4, 1, 1)
    assert r["pairwise"]["precision"] == pytest.approx(1.0)          # 1 TP / 1 predicted pair
    assert r["pairwise"]["recall"] == pytest.approx(1 / 6)           # 1 TP / 6 true pairs
    assert r["pairwise"]["f1"] == pytest.approx(2 * (1 / 6) / (1 + 1 / 6))
    assert r["bcubed"]["precision"] == pytest.approx(1.0)
    # recall: 1:2/4 2:2/4 3:1/4 4:1/4 -> 6/4/4 = 0.375
    assert r["bcubed"]["recall"] == pytest.approx(0.375)


def test_perfect_and_all_singletons():
    p, t = frames({"1": "A", "2": "B"}, {"1": "x", "2": "y"})
    r = evaluate_frames(p, t)
    assert r["pairwise"]["precision"] == r["pairwise"]["recall"] == 1.0
    assert r["bcubed"]["f1"] == 1.0


def test_truth_file_missing_columns_is_refused(tmp_path: Path):
    f = tmp_path / "t.csv"
    f.write_text("source,record_id,who\npolice,1,a\n")
    with pytest.raises(IntelError, match="lacks the column.*person"):
        read_truth(f)
    with pytest.raises(IntelError, match="does not exist"):
        read_truth(tmp_path / "nope.csv")
