"""Mentions placed in dwellings on a generated world, measured against its truth (bench/dwellings.py's
measure on a small world where a UPRN is on 30% of rows)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from bench.dwellings import measure, truth_addresses
from findings.dwellings import place_dwellings
from fixtures.world import generate_world
from ingest.drops import ingest_drop
from core.store import Store


@pytest.fixture(scope="module")
def placed(tmp_path_factory):
    root = tmp_path_factory.mktemp("dwellings")
    generate_world(root / "world", households=150, seed=23, uprn_rate=0.3)
    store = Store(root / "intel.duckdb")
    ingest_drop(store, root / "world" / "drop")
    counts = place_dwellings(store)
    frame = store.df("SELECT m.mention_id, CAST(m.event_date AS DATE) AS date, m.household_key, md.dwelling_key "
                     "FROM mentions m LEFT JOIN mention_dwellings md USING (mention_id)")
    before = store.content_digest()
    place_dwellings(store)
    again = store.content_digest()
    store.close()
    return counts, frame.join(truth_addresses(root / "world"), on="mention_id", how="left"), before == again


def test_one_household_per_dwelling_on_a_world_with_few_uprns(placed):
    counts, frame, _ = placed
    before, after = measure(frame, "household_key"), measure(frame, "dwelling_key")
    assert before["placed_away_per_100"] > 20          # what agencies' keys give: many keys per house
    assert after["placed_away_per_100"] <= 2           # the target
    assert after["two_dwellings_per_100"] <= 1
    assert after["fake_moves"] <= before["fake_moves"] // 10
    assert counts["dwellings"] < counts["sent_keys"]
    assert counts["mentions"] == frame.height


def test_placing_again_changes_nothing(placed):
    assert placed[2]
