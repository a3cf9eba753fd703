"""Shared data for the linkage model tests: one small world, ingested and trained once per run.

``trained_copy(tmp_path)`` returns a Store over a private copy of a store holding a generated
world (150 households, about 3,000 mentions) plus a few hand-built mentions (an obvious duplicate
across agencies, a twin, common and rare surnames), with a trained model and scored link_edges.
Training happens once per test process; each test gets its own copy of the file.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

import polars as pl

from core.config import load_config
from core.store import Store
from linkage.features import mentions_frame

DOB = dt.date(2015, 3, 4)
ADDRESS = "12 acacia avenue"
POSTCODE = "ZZ1 1ZZ"


def hand_rows(common_surname: str) -> pl.DataFrame:
    base = {"dob": DOB, "address": ADDRESS, "postcode": POSTCODE, "sex": "M"}
    rows = [
        # the same boy in police and health, and under a nickname in social care
        {"source": "police", "record_id": "T1", "forename": "oliver", "surname": "quarrendon", **base},
        {"source": "health", "record_id": "T2", "forename": "oliver", "surname": "quarrendon", **base},
        {"source": "social_care", "record_id": "T3", "forename": "ollie", "surname": "quarrendon", **base},
        # his twin brother: same surname, dob, address; a different forename
        {"source": "health", "record_id": "T4", "forename": "harry", "surname": "quarrendon", **base},
        # the same pattern of agreement with a common and with a rare surname (dob and forename agree)
        {"source": "police", "record_id": "C1", "forename": "alfie", "surname": common_surname,
         "dob": dt.date(1980, 7, 9), "sex": "M"},
        {"source": "health", "record_id": "C2", "forename": "alfie", "surname": common_surname,
         "dob": dt.date(1980, 7, 9), "sex": "M"},
        {"source": "police", "record_id": "R1", "forename": "alfie", "surname": "zwolinskiy",
         "dob": dt.date(1980, 7, 9), "sex": "M"},
        {"source": "health", "record_id": "R2", "forename": "alfie", "surname": "zwolinskiy",
         "dob": dt.date(1980, 7, 9), "sex": "M"},
        # swapped forename and surname across agencies
        {"source": "police", "record_id": "S1", "forename": "thomas", "surname": "pemberton-hale",
         "dob": dt.date(2001, 11, 2), "postcode": "ZZ2 2ZZ", "sex": "M"},
        {"source": "social_care", "record_id": "S2", "forename": "pemberton-hale", "surname": "thomas",
         "dob": dt.date(2001, 11, 2), "postcode": "ZZ2 2ZZ", "sex": "M"},
    ]
    schema = {"source": pl.Utf8, "record_id": pl.Utf8, "forename": pl.Utf8, "surname": pl.Utf8, "dob": pl.Date,
              "address": pl.Utf8, "postcode": pl.Utf8, "sex": pl.Utf8}
    return pl.DataFrame([{k: r.get(k) for k in schema} for r in rows], schema=schema)


@lru_cache(maxsize=1)
def _trained_store_file() -> Path:
    from fixtures.world import generate_world
    from ingest.drops import ingest_drop
    from linkage.model import load_or_train
    from linkage.scoring import score_all

    root = Path(tempfile.mkdtemp(prefix="linkage-model-tests-"))
    generate_world(root / "world", households=150, seed=3)
    db = root / "trained.duckdb"
    with Store(db) as store:
        ingest_drop(store, root / "world" / "drop")
        common = store.rows("SELECT surname FROM mentions WHERE surname IS NOT NULL "
                            "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")[0]["surname"]
        store.insert_df("mentions", mentions_frame(hand_rows(common)))
        model = load_or_train(store, load_config())
        score_all(store, model, load_config())
        store.connection.execute("CHECKPOINT").fetchall()
    return db


def trained_copy(tmp_path: Path) -> Store:
    db = tmp_path / "copy.duckdb"
    shutil.copy(_trained_store_file(), db)
    return Store(db)


def edge(store: Store, a: str, b: str) -> float | None:
    a, b = min(a, b), max(a, b)
    rows = store.rows("SELECT match_probability FROM link_edges WHERE mention_a = ? AND mention_b = ?", [a, b])
    return rows[0]["match_probability"] if rows else None
