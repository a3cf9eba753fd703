"""The link run: full and incremental, stable ids, one transaction, unlinkable mentions."""

from __future__ import annotations

from datetime import date, datetime
from types import SimpleNamespace
from typing import Any

import polars as pl
import pytest

from core.store import Store
from tests.stand_in_scorer import rules_engine
from linkage.identity import scalar
from linkage.run import link

CONFIG = {"identity": {"threshold": 0.95}}

_NOW = datetime(2026, 1, 1)


def add_mentions(store: Store, rows: list[dict[str, Any]]) -> None:
    """Insert (or replace, bumping version) mentions with only the fields linkage reads."""
    for r in rows:
        source = r.get("source", "police")
        mid = f"{source}:{r['record_id']}"
        version = (scalar(store, "SELECT version FROM mentions WHERE mention_id = ?", [mid]) or 0) + 1
        store.execute("DELETE FROM mentions WHERE mention_id = ?", [mid])
        dob = r.get("dob")
        store.insert_df("mentions", pl.DataFrame([{
            "mention_id": mid, "source": source, "record_id": r["record_id"], "event_key": f"{source}:E{r['record_id']}",
            "event_id": f"E{r['record_id']}", "event_date": _NOW, "role": "victim", "event_type": "other",
            "person_ref": r.get("person_ref"), "forename": r.get("forename"), "surname": r.get("surname"),
            "dob": date.fromisoformat(dob) if dob else None, "restriction": "none", "drop_id": "d",
            "file_name": "f.csv", "file_sha256": "x", "row_number": 1, "ingested_at": _NOW, "version": version,
        }], schema_overrides={"dob": pl.Date, "person_ref": pl.Utf8, "forename": pl.Utf8, "surname": pl.Utf8}))


# The shared stand-in scorer (tests/stand_in_scorer.py): links whose probabilities are known, so
# that the identity layer is tested on them; the Splink model is exercised in test_run_with_model.
RULES = rules_engine()


def run(store: Store, **kw: Any) -> dict:
    return link(store, config=CONFIG, engine=RULES, **kw)


def persons(store: Store) -> dict[str, str]:
    # rows(), not df(): Store.content_digest() leaves a half-read result that blocks a following df()
    return {r["mention_id"]: r["person_id"] for r in store.rows(
        "SELECT mention_id, person_id FROM person_mentions ORDER BY 1")}


def partition(store: Store) -> list[list[str]]:
    groups: dict[str, list[str]] = {}
    for m, p in persons(store).items():
        groups.setdefault(p, []).append(m)
    return sorted(sorted(g) for g in groups.values())


ANN = dict(forename="ann", surname="lee", dob="1990-01-02")
BOB = dict(forename="bob", surname="kay", dob="1985-05-06")
# ------------------------------------------------------------------------------------------------


def seed(store: Store) -> None:
    add_mentions(store, [
        {"record_id": "1", **ANN}, {"record_id": "2", **ANN},
        {"source": "health", "record_id": "h1", **ANN},
        {"record_id": "3", **BOB}, {"source": "social_care", "record_id": "s1", **BOB},
        {"record_id": "u", "forename": "ann"},  # unlinkable: one identifier only
        {"record_id": "4", "forename": "cat", "surname": "roe", "dob": "2001-03-04"},
    ])


def test_first_run_is_full_and_every_mention_gets_a_person(store):
    seed(store)
    r = run(store)
    assert r["mode"] == "full" and r["full_because"] == ["first run"]
    assert partition(store) == [["health:h1", "police:1", "police:2"], ["police:3", "social_care:s1"],
                                ["police:4"], ["police:u"]]
    assert r["unlinkable_mentions"] == 1 and r["unlinkable_mention_ids"] == ["police:u"]
    assert r["persons_created"] == 4 and r["persons_active"] == 4
    assert r["mentions_scored"] == 7 and r["mentions_clustered"] == 7
    assert set(r["timings"]) >= {"model_s", "scoring_s", "clustering_s", "total_s"}
    assert scalar(store, "SELECT count(*) FROM linked_mentions") == 7
    # a second run with nothing new changes nothing
    before = persons(store)
    r2 = run(store)
    assert r2["mode"] == "incremental" and r2["mentions_scored"] == 0 and r2["clusters_touched"] == 0
    assert persons(store) == before


def test_incremental_touches_only_the_components_of_new_mentions(store):
    seed(store)
    run(store)
    first = persons(store)
    add_mentions(store, [{"source": "health", "record_id": "h2", **BOB}])
    r = run(store)
    assert r["mode"] == "incremental" and r["mentions_scored"] == 1
    assert r["mentions_clustered"] == 3 and r["clusters_touched"] == 1  # bob's person and the new mention
    assert r["mentions_attached"] == 1 and r["persons_created"] == 0
    now = persons(store)
    assert now["health:h2"] == first["police:3"]
    assert {k: v for k, v in now.items() if k != "health:h2"} == first


def test_resent_mention_that_changes_identity_is_relinked(store):
    seed(store)
    run(store)
    first = persons(store)
    # police:2 re-sent corrected: it was bob all along
    add_mentions(store, [{"record_id": "2", **BOB}])
    r = run(store)
    assert r["mode"] == "incremental" and r["mentions_new_or_changed"] == 1
    now = persons(store)
    assert now["police:2"] == first["police:3"]
    assert now["police:1"] == first["police:1"]
    assert scalar(store, "SELECT version FROM linked_mentions WHERE mention_id = 'police:2'") == 2


def _full_partition(tmp_path, batches) -> list[list[str]]:
    with Store(tmp_path / "full.duckdb") as other:
        for b in batches:
            add_mentions(other, b)
        run(other)
        return partition(other)


def test_incremental_equals_full_on_the_same_data(store, tmp_path):
    people = [dict(forename=f"n{i % 7}", surname=f"s{i % 5}", dob=f"19{70 + i % 9}-01-0{1 + i % 3}") for i in range(40)]
    batches = [[{"source": ("police", "health")[i % 2], "record_id": f"{k}-{i}", **people[(i * 3 + k) % 40]}
                for i in range(25)] for k in range(3)]
    batches.append([{"source": "police", "record_id": "0-3", **people[0]}])  # a re-sent record
    for b in batches:
        add_mentions(store, b)
        run(store)
    incremental = partition(store)
    assert incremental == _full_partition(tmp_path, batches)
    r = run(store, full=True)
    assert r["mode"] == "full" and r["persons_created"] == r["persons_merged"] == r["persons_split"] == 0
    assert partition(store) == incremental


def test_a_crash_leaves_the_previous_state(store):
    seed(store)
    run(store)
    add_mentions(store, [{"source": "health", "record_id": "h2", **BOB}])
    digest = store.content_digest()

    def boom(*a, **k):
        raise RuntimeError("scorer crashed")

    crashing = SimpleNamespace(load_or_train=RULES.load_or_train, score_all=boom, score_mentions=boom)
    with pytest.raises(RuntimeError):
        link(store, config=CONFIG, engine=crashing)
    assert store.content_digest() == digest


def test_threshold_is_configurable_and_checked(store):
    seed(store)
    add_mentions(store, [{"record_id": "5", "forename": "ann", "surname": "lee", "dob": "1999-09-09"}])
    run(store)
    assert ["police:5"] in partition(store)  # name only agrees: 0.6 < 0.95
    link(store, config={"identity": {"threshold": 0.5}}, engine=RULES, full=True)
    assert ["health:h1", "police:1", "police:2", "police:5"] in partition(store)
    assert ["police:u"] in partition(store)  # unlinkable stays alone at any threshold
    from core.errors import IntelError
    with pytest.raises(IntelError, match="threshold"):
        link(store, config={"identity": {"threshold": 2}}, engine=RULES)


@pytest.fixture(scope="module")
def small_world(tmp_path_factory):
    from fixtures.world import generate_world

    out = tmp_path_factory.mktemp("world")
    generate_world(out, households=40, seed=3, nightly_days=60)  # about 970 mentions, 15 re-sent
    return out


def test_generated_world_nightly_incremental_equals_full(small_world, tmp_path):
    from ingest.drops import ingest_drop

    drops = [small_world / "drop"] + sorted((small_world / "nightly").iterdir())
    with Store(tmp_path / "inc.duckdb") as inc:
        changed = 0
        for i, d in enumerate(drops):
            ingest_drop(inc, d)
            if i % 15 and i != len(drops) - 1:
                continue  # link after the first drop, every 15th nightly drop and the last
            r = run(inc)
            changed += r["mentions_new_or_changed"] if r["mode"] == "incremental" else 0
            if r["mode"] == "incremental":
                assert r["mentions_clustered"] < r["mentions_total"]
        assert changed > 0  # the nightly drops did bring new and re-sent mentions
        resent = scalar(inc, "SELECT count(*) FROM mentions WHERE version > 1")
        assert resent > 0
        incremental = partition(inc)
        assert scalar(inc, "SELECT count(*) FROM person_mentions") == scalar(inc, "SELECT count(*) FROM mentions")
        run(inc, full=True)
        assert partition(inc) == incremental
    with Store(tmp_path / "full.duckdb") as fresh:
        for d in drops:
            ingest_drop(fresh, d)
        run(fresh)
        assert partition(fresh) == incremental
