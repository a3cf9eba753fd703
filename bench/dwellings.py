"""Addresses resolved to dwellings, measured against the generator's truth.

    python -m bench.dwellings --households 1000 --seed 41 --uprn-rate 0.3 [--noise hard] [--keep DIR]
    python -m bench.dwellings --demo demo/ [--sample 30]     (chronologies of a demo store)

Generates a world whose agencies send a UPRN on ``--uprn-rate`` of their rows (stale, second,
abbreviated, town-suffixed, flat-form and missing addresses as the generator always writes them),
ingests its drop, and compares two ways of placing each mention in a household:

- **before**: the household key ingest made (``uprn:`` where the row has a UPRN, else the
  normalised address and postcode);
- **after**: the dwelling key (graphs.dwellings.resolve_dwellings, what analytics, chronologies,
  networks and alerts use); **after_without_districts**: the same less its step 5 (one number on
  one street within a postcode district is one house).

Against ``truth/addresses.csv`` (the dwelling whose address each row wrote):

- **mentions placed away**: a mention is placed away from its dwelling's household when its key is
  not the key that holds most of its dwelling's mentions (a split household), or when that key's
  mentions are mostly of another dwelling (a merged one); over the mentions that have a key;
- **households holding two dwellings**: keys whose mentions wrote two or more dwellings;
- **fake moves**: for each true person (truth.csv; persons from truth so that linkage errors do not
  count here), their spells (graphs.households.household_spells, as chronologies draw them): a
  change of key between two spells whose keys are the same dwelling is a fake move, otherwise a
  genuine one;
- mentions with address information but no key at all (no postcode and no UPRN), for coverage.

``--demo``: on a store ``./run demo`` made (linked persons, as an analyst sees them), the
chronologies of ``--sample`` random persons with a change of address: each "change of address"
row is *the same house* when the two households' mentions wrote the same dwelling (truth), *a
stale address* when the person's true home (truth.csv) did not change across it, else genuine.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import polars as pl

from fixtures.world import generate_world
from graphs.dwellings import resolve_dwellings
from graphs.households import household_spells
from ingest.drops import ingest_drop
from core.store import Store


def truth_addresses(world: Path) -> pl.DataFrame:
    a = pl.read_csv(world / "truth" / "addresses.csv", infer_schema_length=0)
    t = pl.read_csv(world / "truth" / "truth.csv", infer_schema_length=0)
    return (a.join(t.select("source", "record_id", "person"), on=["source", "record_id"])
            .select(pl.format("{}:{}", "source", "record_id").alias("mention_id"),
                    pl.when(pl.col("dwelling") == "").then(None).otherwise(pl.col("dwelling")).alias("dwelling"),
                    pl.col("person").alias("person_id")))


def measure(frame: pl.DataFrame, key: str) -> dict[str, Any]:
    """Placement figures for household column ``key`` of ``frame`` (mention_id, dwelling, person_id, date)."""
    placed = frame.filter(pl.col(key).is_not_null() & pl.col("dwelling").is_not_null())
    home_of = (placed.group_by("dwelling", key).len().sort(["dwelling", "len", key], descending=[False, True, False])
               .unique("dwelling", keep="first", maintain_order=True).select("dwelling", pl.col(key).alias("_home")))
    main_of = (placed.group_by(key, "dwelling").len().sort([key, "len", "dwelling"], descending=[False, True, False])
               .unique(key, keep="first", maintain_order=True).select(key, pl.col("dwelling").alias("_main")))
    p = placed.join(home_of, on="dwelling").join(main_of, on=key)
    away = p.filter((pl.col(key) != pl.col("_home")) | (pl.col("dwelling") != pl.col("_main"))).height
    per_key = placed.group_by(key).agg(pl.col("dwelling").n_unique().alias("n"))
    spells = household_spells(frame.select("person_id", "date", pl.col(key).alias("household_key")))
    dw = dict(zip(main_of[key].to_list(), main_of["_main"].to_list()))
    moves = spells.sort("person_id", "first_seen").with_columns(
        prev=pl.col("household_key").shift(1).over("person_id")).filter(pl.col("prev").is_not_null())
    fake = sum(1 for a, b in zip(moves["prev"].to_list(), moves["household_key"].to_list()) if dw.get(a) == dw.get(b))
    return {
        "mentions_with_key": placed.height,
        "mentions_placed_away": away,
        "placed_away_per_100": round(100 * away / max(placed.height, 1), 2),
        "households": per_key.height,
        "households_holding_two_dwellings": per_key.filter(pl.col("n") >= 2).height,
        "two_dwellings_per_100": round(100 * per_key.filter(pl.col("n") >= 2).height / max(per_key.height, 1), 2),
        "changes_of_household": moves.height,
        "fake_moves": fake,
        "people_with_a_fake_move": moves.filter(pl.Series([dw.get(a) == dw.get(b) for a, b in zip(
            moves["prev"].to_list(), moves["household_key"].to_list())], dtype=pl.Boolean))["person_id"].n_unique(),
        "dwellings_written": placed["dwelling"].n_unique(),
        "mentions_with_address_but_no_key": frame.filter(pl.col(key).is_null() & pl.col("dwelling").is_not_null()).height,
    }


def run(households: int, seed: int, uprn_rate: float | None, keep: Path | None, noise: str = "standard") -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-dwellings-")) if keep is None else keep
    world = tmp / "world"
    generate_world(world, households=households, seed=seed, uprn_rate=uprn_rate, noise=noise)
    db = tmp / "intel.duckdb"
    if db.exists():
        db.unlink()
    store = Store(db)
    try:
        ingest_drop(store, world / "drop")
        m = store.df("SELECT mention_id, CAST(event_date AS DATE) AS date, household_key, address, postcode, uprn "
                     "FROM mentions")
    finally:
        store.close()
    frame = m.join(truth_addresses(world), on="mention_id", how="left")
    t = time.perf_counter()
    resolved = resolve_dwellings(frame)
    resolve_s = time.perf_counter() - t
    with_uprn = frame.filter(pl.col("uprn").is_not_null()).height
    return {
        "world": {"households": households, "seed": seed, "noise": noise, "uprn_rate": uprn_rate, "mentions": frame.height,
                  "mentions_with_uprn_per_100": round(100 * with_uprn / frame.height, 1)},
        "before": measure(frame, "household_key"),
        "after": measure(resolved, "dwelling_key"),
        "after_without_districts": measure(resolve_dwellings(frame, across_districts=False), "dwelling_key"),
        "resolve_seconds": round(resolve_s, 3),
    }


def chronology_moves(folder: Path, sample: int = 30, seed: int = 1) -> dict[str, Any]:
    import random

    from views.chronology import chronology
    from core.config import load_config

    world = folder / "world"
    truth = truth_addresses(world)
    homes = pl.read_csv(world / "truth" / "truth.csv", infer_schema_length=0).select(
        pl.format("{}:{}", "source", "record_id").alias("mention_id"), pl.col("household_key").alias("home"))
    store = Store(folder / "intel.duckdb", read_only=True)
    try:
        placed = store.df("SELECT m.mention_id, coalesce(md.dwelling_key, m.household_key) AS key FROM mentions m "
                          "LEFT JOIN mention_dwellings md USING (mention_id)").join(truth, on="mention_id")
        dwelling_of = dict(_mode(placed.drop_nulls("key"), "key", "dwelling").iter_rows())
        home_of = dict(homes.iter_rows())
        movers = sorted({r["person_id"] for r in store.rows(
            "SELECT person_id FROM person_mentions GROUP BY person_id HAVING count(*) >= 3")})
        random.Random(seed).shuffle(movers)
        config = load_config()
        counts = {"persons_sampled": 0, "persons_with_a_change": 0, "changes_of_address": 0, "same_house": 0,
                  "stale_address": 0, "genuine": 0, "persons_with_a_same_house_move": 0}
        for pid in movers:
            if counts["persons_sampled"] >= sample:
                break
            counts["persons_sampled"] += 1
            c = chronology(store, person_id=pid, config=config)
            changes = [e for e in c["events"] if e.get("derived_type") == "address_change"]
            counts["persons_with_a_change"] += bool(changes)
            same = 0
            for e in changes:
                counts["changes_of_address"] += 1
                a, b = e.get("previous_household_key"), e.get("household_key")
                if a is not None and dwelling_of.get(a) == dwelling_of.get(b):
                    same += 1
                    continue
                mids = e.get("mention_ids") or []
                if mids and all(home_of.get(m) == dwelling_of.get(a) for m in mids):
                    counts["stale_address"] += 1
                else:
                    counts["genuine"] += 1
            counts["same_house"] += same
            counts["persons_with_a_same_house_move"] += same > 0
    finally:
        store.close()
    return counts


def _mode(frame: pl.DataFrame, key: str, value: str) -> pl.DataFrame:
    return (frame.group_by(key, value).len().sort([key, "len", value], descending=[False, True, False])
            .unique(key, keep="first", maintain_order=True).select(key, value))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=41)
    ap.add_argument("--uprn-rate", type=float, default=0.3, help="a negative rate: each agency's own (the noise model's)")
    ap.add_argument("--noise", default="standard", help="the generator's noise model: standard or hard")
    ap.add_argument("--keep", type=Path, default=None)
    ap.add_argument("--demo", type=Path, default=None, help="a folder ./run demo made (store and world)")
    ap.add_argument("--sample", type=int, default=30)
    a = ap.parse_args(argv)
    if a.demo is not None:
        json.dump(chronology_moves(a.demo, a.sample), sys.stdout, indent=1, default=str)
    else:
        rate = a.uprn_rate if a.uprn_rate >= 0 else None
        json.dump(run(a.households, a.seed, rate, a.keep, a.noise), sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
