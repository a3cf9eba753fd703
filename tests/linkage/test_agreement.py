"""Pairwise agreement of two person assignments, counted from cluster sizes."""

from __future__ import annotations

import polars as pl
import pytest

from linkage.agreement import person_agreement


def frame(pairs: dict[str, str]) -> pl.DataFrame:
    return pl.DataFrame({"mention_id": list(pairs), "person_id": list(pairs.values())})


def test_the_same_persons_under_other_ids_agree_fully() -> None:
    a = frame({"m1": "P1", "m2": "P1", "m3": "P2", "m4": "P3"})
    b = frame({"m1": "X", "m2": "X", "m3": "Y", "m4": "Z"})
    r = person_agreement(a, b)
    assert r["agreement"] == 1.0 and r["f1"] == 1.0 and r["pairs_disagreeing"] == 0


def test_one_merge_is_counted_pair_by_pair() -> None:
    a = frame({"m1": "P1", "m2": "P1", "m3": "P2", "m4": "P3"})
    b = frame({"m1": "P1", "m2": "P1", "m3": "P1", "m4": "P3"})      # m3 merged into P1
    r = person_agreement(a, b)
    # 6 pairs; a together: (m1,m2); b together: (m1,m2),(m1,m3),(m2,m3): 2 disagree
    assert r["pairs_disagreeing"] == 2 and r["agreement"] == pytest.approx(4 / 6)
    assert r["precision"] == pytest.approx(1 / 3) and r["recall"] == 1.0
    assert (r["persons_a"], r["persons_b"]) == (3, 2)


def test_different_mentions_are_refused() -> None:
    with pytest.raises(ValueError, match="1 mentions are in one assignment and not the other"):
        person_agreement(frame({"m1": "P1", "m2": "P1"}), frame({"m1": "P1"}))
