"""SortedFrame: each key's rows by a slice, in the order asked, each key once."""

from __future__ import annotations

import polars as pl

from core.sorted_frame import SortedFrame


def test_rows_and_frames_by_key():
    f = SortedFrame(pl.DataFrame({"k": ["a", "a", "b", "c", "c", "c"], "v": [1, 2, 3, 4, 5, 6]}), "k")
    assert "b" in f and "z" not in f
    assert [r["v"] for r in f.rows(["c", "a", "c", "z"])] == [4, 5, 6, 1, 2]
    assert f.frame_of(["b", "a"])["v"].to_list() == [3, 1, 2]
    empty = f.frame_of(["z"])
    assert empty.height == 0 and empty.columns == ["k", "v"]


def test_positions_are_the_rows_a_loop_over_the_keys_finds():
    """The numpy ranges against the obvious loop, on random frames and random asks."""
    import random

    rng = random.Random(5)
    for _ in range(50):
        keys = sorted(rng.choices(range(30), k=rng.randrange(0, 200)))
        f = SortedFrame(pl.DataFrame({"k": keys}, schema={"k": pl.Int64}), "k")
        asked = [rng.randrange(-3, 33) for _ in range(rng.randrange(0, 12))]
        want = [i for k in dict.fromkeys(asked) for i, kk in enumerate(keys) if kk == k]
        assert f.positions(asked).tolist() == want
