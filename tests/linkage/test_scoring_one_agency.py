"""A night's drop from one agency alone links incrementally (Splink needs several inputs)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from fixtures.world import generate_world
from ingest.drops import ingest_drop
from core.config import load_config
from core.store import Store
from linkage.run import link


def test_a_drop_from_one_agency_links_incrementally(tmp_path: Path) -> None:
    generate_world(tmp_path / "w", households=120, seed=4)
    with Store(tmp_path / "s.duckdb") as store:
        ingest_drop(store, tmp_path / "w" / "drop", report_dir=tmp_path / "r")
        assert link(store, config=load_config())["mode"] == "full"
        # five health records sent again under new record ids: the same people, from one agency
        night = tmp_path / "night"
        night.mkdir()
        health = pl.read_csv(tmp_path / "w" / "drop" / "health.csv", infer_schema=False).head(5)
        # (new event ids too: two rows of one event are two people, a cannot-link pair)
        health.with_columns(pl.format("NEW{}", pl.col("record_id")).alias("record_id"),
                            pl.format("NEW{}", pl.col("event_id")).alias("event_id")).write_csv(night / "health.csv")
        ingest_drop(store, night, report_dir=tmp_path / "r")
        report = link(store, config=load_config())
        assert report["mode"] == "incremental" and report["mentions_scored"] == 5
        pairs = store.rows(
            "SELECT n.person_id AS new_person, o.person_id AS old_person FROM person_mentions n "
            "JOIN person_mentions o ON o.mention_id = replace(n.mention_id, 'health:NEW', 'health:') "
            "WHERE n.mention_id LIKE 'health:NEW%'")
        assert len(pairs) == 5 and all(p["new_person"] == p["old_person"] for p in pairs)
