"""SortedFrame: each key's rows by a slice, in the order asked, each key once."""

from __future__ import annotations

import polars as pl

from intel.sorted_frame import SortedFrame


def test_rows_and_frames_by_key():
    f = SortedFrame(pl.DataFrame({"k": ["a", "a", "b", "c", "c", "c"], "v": [1, 2, 3, 4, 5, 6]}), "k")
    assert "b" in f and "z" not in f
    assert [r["v"] for r in f.rows(["c", "a", "c", "z"])] == [4, 5, 6, 1, 2]
    assert f.frame_of(["b", "a"])["v"].to_list() == [3, 1, 2]
    empty = f.frame_of(["z"])
    assert empty.height == 0 and empty.columns == ["k", "v"]
