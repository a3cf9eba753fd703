"""The Spark link engine on a local Spark: parity with DuckDB, stable ids, failures leave no trace.

One SparkSession for the module (local[2], one shuffle partition: a small world), two small
generated worlds (two seeds), each ingested, trained and linked by the DuckDB engine once.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from functools import lru_cache
from pathlib import Path

import polars as pl
import psutil
import pytest

from core.config import load_config
from core.errors import IntelError
from core.store import Store
from fixtures.world import generate_world
from ingest.drops import ingest_drop
from linkage.agreement import person_agreement
from linkage.run import link
from linkage.spark_engine import SparkEngine, SparkFailure
from linkage.spark_session import SparkSettings, open_session

ROOT = Path(__file__).resolve().parents[2]
SEEDS = (3, 8)
HOUSEHOLDS = 45


def spark_config() -> dict:
    cfg = copy.deepcopy(load_config())
    cfg["spark"].update({"master": "local[2]", "shuffle_partitions": 1, "progress": False,
                         "driver_memory": "1g", "log_level": "ERROR"})
    return cfg


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    session = open_session(SparkSettings.from_config(spark_config()), str(tmp_path_factory.mktemp("ckpt")))
    yield session
    session.stop()


@lru_cache(maxsize=None)
def _linked_world(seed: int, root: str) -> tuple[Path, Path]:
    """A world's store linked by the DuckDB engine (full), and the world's folder (its nightly drops)."""
    world = Path(root) / f"world{seed}"
    generate_world(world, households=HOUSEHOLDS, seed=seed, nightly_days=1)
    db = Path(root) / f"duckdb{seed}.duckdb"
    with Store(db) as store:
        ingest_drop(store, world / "drop")
        link(store, full=True, config=load_config())
        store.connection.execute("CHECKPOINT").fetchall()
    return db, world


@pytest.fixture(scope="module")
def worlds(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("spark-worlds"))
    return lambda seed: _linked_world(seed, root)


def copy_of(db: Path, tmp_path: Path, name: str = "copy") -> Path:
    dest = tmp_path / f"{name}.duckdb"
    shutil.copy(db, dest)
    return dest


def persons(store: Store):
    return store.df("SELECT mention_id, person_id FROM person_mentions ORDER BY mention_id")


def strong_pairs(store: Store) -> set[tuple[str, str]]:
    return set(store.df("SELECT mention_a, mention_b FROM link_edges WHERE match_probability >= 0.999").rows())


@pytest.mark.parametrize("seed", SEEDS)
def test_spark_gives_the_persons_duckdb_gives_and_keeps_their_ids(seed, spark, worlds, tmp_path) -> None:
    db, _ = worlds(seed)
    with Store(copy_of(db, tmp_path)) as store:
        before, pairs_before = persons(store), strong_pairs(store)
        report = link(store, full=True, config=spark_config(), engine=SparkEngine(spark_config(), spark=spark))
        after, pairs_after = persons(store), strong_pairs(store)
    assert report["scoring"]["engine"] == "spark" and report["mode"] == "full"
    assert report["scoring"]["blocked_pairs"] == "union"   # linkage/blocked_pairs.py, not Splink's exclusions
    ag = person_agreement(before, after)
    assert ag["agreement"] >= 0.999 and ag["f1"] >= 0.999, ag
    assert ag["persons_difference"] <= 0.001, ag
    assert len(pairs_before ^ pairs_after) <= 0.001 * len(pairs_before | pairs_after)
    # linked with DuckDB one night and Spark the next: the ids do not churn
    joined = before.join(after, on="mention_id", suffix="_spark")
    changed = joined.filter(pl.col("person_id") != pl.col("person_id_spark"))
    if ag["pairs_disagreeing"] == 0:
        assert changed.height == 0, changed.head(5)
    assert changed.height <= 0.001 * joined.height, changed.head(5)


def test_an_incremental_night_on_spark_matches_duckdb(spark, worlds, tmp_path) -> None:
    db, world = worlds(SEEDS[0])
    night = sorted((world / "nightly").iterdir())[0]
    results = {}
    for name, engine in (("duckdb", None), ("spark", SparkEngine(spark_config(), spark=spark))):
        with Store(copy_of(db, tmp_path, name)) as store:
            ingest_drop(store, night)
            report = link(store, config=spark_config(), engine=engine)
            assert report["mode"] == "incremental" and report["mentions_new_or_changed"] > 0
            results[name] = (persons(store), strong_pairs(store), report)
    assert results["spark"][2]["scoring"]["engine"] == "spark"
    assert results["spark"][1] == results["duckdb"][1]
    assert results["spark"][0].equals(results["duckdb"][0])      # same persons, same ids


def test_a_spark_job_cancelled_midway_leaves_the_store_as_it_was(spark, worlds, tmp_path) -> None:
    db, _ = worlds(SEEDS[0])
    sc = spark.sparkContext
    stop = threading.Event()

    def cancel_when_busy() -> None:
        while not stop.wait(0.002):
            if sc.statusTracker().getActiveJobsIds():
                sc.cancelAllJobs()
                return

    with Store(copy_of(db, tmp_path)) as store:
        digest = store.content_digest()
        watcher = threading.Thread(target=cancel_when_busy, daemon=True)
        watcher.start()
        try:
            with pytest.raises(SparkFailure, match="cancelled .*nothing was written: the store is as it was"):
                link(store, full=True, config=spark_config(), engine=SparkEngine(spark_config(), spark=spark))
        finally:
            stop.set()
            watcher.join()
        assert store.content_digest() == digest
    assert spark.range(3).count() == 3          # the session is still usable


def test_a_model_spark_cannot_translate_is_refused_and_nothing_written(spark, worlds, tmp_path) -> None:
    db, _ = worlds(SEEDS[0])
    with Store(copy_of(db, tmp_path)) as store:
        model_json = store.rows("SELECT model_id, model_json FROM linkage_models")[0]
        settings = json.loads(model_json["model_json"])
        settings["comparisons"][0]["comparison_levels"][1]["sql_condition"] = "list_has_all(forename_l, forename_r)"
        store.execute("UPDATE linkage_models SET model_json = ?", [json.dumps(settings)])
        digest = store.content_digest()
        with pytest.raises(IntelError, match="uses list_has_all, which the Spark engine cannot translate"):
            link(store, full=True, config=spark_config(), engine=SparkEngine(spark_config(), spark=spark))
        assert store.content_digest() == digest


def _cli(args: list[str], env: dict | None = None, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "intel.cli", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})}, **kw)


def test_cli_refuses_bad_spark_settings_and_no_java_before_any_work(worlds, tmp_path) -> None:
    db, _ = worlds(SEEDS[1])
    store_path = copy_of(db, tmp_path)
    with Store(store_path) as store:
        digest = store.content_digest()
    bad = tmp_path / "bad.toml"
    cases = [
        ('[spark]\nmaster = "sparc://x:7077"\n', {}, "is not a Spark master URL"),
        ('[spark]\nexecutor_memory = "128m"\n', {}, "executor_memory '128m' is too little"),
        ("", {"PATH": str(tmp_path), "JAVA_HOME": ""}, "needs Java 17 or later"),
    ]
    for command in (["link", "--full"], ["nightly", str(tmp_path)]):
        for toml, env, message in cases:
            bad.write_text(toml)
            p = _cli([*command, "--engine", "spark", "--db", str(store_path), "--config", str(bad)], env=env)
            out, err = p.communicate(timeout=120)
            assert p.returncode == 2, (command, toml, err)
            assert message in err and out == "", (command, err)
    with Store(store_path) as store:
        assert store.content_digest() == digest


def test_cli_link_whose_spark_jvm_is_killed_midway_exits_1_and_writes_nothing(worlds, tmp_path) -> None:
    db, _ = worlds(SEEDS[1])
    store_path = copy_of(db, tmp_path)
    with Store(store_path) as store:
        digest = store.content_digest()
    cfg = tmp_path / "spark.toml"
    cfg.write_text('[spark]\nmaster = "local[2]"\nshuffle_partitions = 1\ndriver_memory = "1g"\n')
    p = _cli(["link", "--full", "--engine", "spark", "--db", str(store_path), "--config", str(cfg)])
    err_lines: list[str] = []
    killed = threading.Event()

    def read_err() -> None:
        for line in p.stderr:
            err_lines.append(line)
            if "spark: predicting" in line and not killed.is_set():
                time.sleep(0.5)
                for child in psutil.Process(p.pid).children(recursive=True):
                    if "java" in child.name():
                        child.send_signal(signal.SIGKILL)
                killed.set()

    reader = threading.Thread(target=read_err, daemon=True)
    reader.start()
    out = p.stdout.read()
    p.wait(timeout=300)
    reader.join(timeout=30)
    err = "".join(err_lines)
    assert killed.is_set(), err[-2000:]
    assert p.returncode == 1, err[-2000:]
    assert "error: the Spark JVM stopped answering midway" in err and "nothing was written" in err, err[-2000:]
    assert out == ""
    with Store(store_path) as store:
        assert store.content_digest() == digest
