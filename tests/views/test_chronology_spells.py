"""views.chronology builds household spells row by row (a polars frame per chronology cost more than
the rule); they must be graphs.households.household_spells' spells exactly (boundary midpoint)."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import polars as pl

from graphs.households import household_spells
from views.chronology_entries import spells_of as _spells


def _reference(rows: list[dict]) -> list[dict]:
    usable = [r for r in rows if r["household_key"] is not None]
    if not usable:
        return []
    frame = pl.DataFrame({"person_id": [r["person_id"] for r in usable],
                          "date": [r["event_date"].date() if isinstance(r["event_date"], datetime) else r["event_date"]
                                   for r in usable],
                          "household_key": [r["household_key"] for r in usable]},
                         schema={"person_id": pl.Utf8, "date": pl.Date, "household_key": pl.Utf8})
    return household_spells(frame).to_dicts()


def test_spells_match_graphs_households_on_random_histories():
    rng = random.Random(7)
    for case in range(300):
        rows = []
        for p in range(rng.randint(1, 4)):
            day = date(2018, 1, 1) + timedelta(days=rng.randint(0, 400))
            for _ in range(rng.randint(0, 14)):
                day += timedelta(days=rng.choice([0, 0, 1, 2, 5, 30, 200]))  # same-day records, ties
                when = datetime.combine(day, datetime.min.time()) + timedelta(hours=rng.randint(0, 23))
                rows.append({"person_id": f"P{p:08d}", "event_date": rng.choice([when, day]),
                             "household_key": rng.choice([None, "uprn:1", "uprn:2", "addr:a|AA1 1AA", "uprn:10"])})
        rng.shuffle(rows)
        assert _spells(rows) == _reference(rows), case


def test_no_household_no_spells():
    assert _spells([{"person_id": "P1", "event_date": date(2020, 1, 1), "household_key": None}]) == []
    assert _spells([]) == []
