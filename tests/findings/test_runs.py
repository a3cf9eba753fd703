"""The nightly run: report, idempotency, the lock, faults between stages, a killed process, and
users acting on alerts while a run is open."""

from __future__ import annotations

from collections import Counter

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.world import generate_world
from findings.alerts import act_on_alert, list_alerts
from core.errors import Conflict
from findings.runs import STAGES, InjectedFault, RunLock, get_run, lock_path, run_nightly
from core.store import Store
from core.config import load_config

CONFIG = load_config()

ROOT = Path(__file__).resolve().parents[2]
# the data a run must not change when it has nothing new (its own bookkeeping - runs, link_runs,
# computed_at stamps - may change)
DATA_TABLES = ("mentions", "mentions_history", "events", "quarantine", "drops", "ingested_files", "persons",
               "person_mentions", "person_history", "link_edges", "linked_mentions", "alerts", "alert_events")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A small world, its base drop already run through the whole pipeline (once per module)."""
    base = tmp_path_factory.mktemp("world")
    generate_world(base / "w", households=300, seed=5, nightly_days=3)
    with Store(base / "base.duckdb") as store:
        report = run_nightly(store, base / "w" / "drop", config=CONFIG)
    assert report["status"] == "completed"
    nights = sorted((base / "w" / "nightly").iterdir())
    return {"db": base / "base.duckdb", "nights": nights, "base_report": report}


@pytest.fixture
def db(world, tmp_path):
    path = tmp_path / "intel.duckdb"
    shutil.copy(world["db"], path)
    return path


def data_digest(store: Store) -> dict[str, str]:
    d = {k: v for k, v in store.content_digest().items() if k in DATA_TABLES}
    d["findings"] = str(store.rows("SELECT finding_key, evidence_hash FROM findings ORDER BY 1"))
    return d


def test_report_and_idempotent(world, db):
    r = world["base_report"]
    assert set(r["stages"]) == set(STAGES)
    # the first load is the baseline, not news of tonight, and the report says so
    assert r["new_alerts"] == 0 and r["baseline_alerts"] > 0 and "baseline" in r["baseline_note"]
    assert all(r["stages"][s]["seconds"] >= 0 for s in STAGES) and "rejected_rows" in r
    with Store(db) as store:
        night = run_nightly(store, world["nights"][0], config=CONFIG)
        assert night["status"] == "completed" and night["loaded_rows"] > 0
        assert night["stages"]["link"]["mode"] == "incremental"
        assert get_run(store, night["run_id"])["status"] == "completed"
        # the triaged queue: no person with two open alerts of one rule, after the baseline and a night
        per = Counter((a["rule"], a["person_id"]) for a in list_alerts(store, status="open") if a["person_id"])
        assert per and max(per.values()) == 1
        tonight = Counter((a["rule"], a["person_id"]) for a in list_alerts(store, status="new"))
        assert not tonight or max(tonight.values()) == 1
        before = data_digest(store)
        alerts_before = len(list_alerts(store))
        again = run_nightly(store, world["nights"][0], config=CONFIG)
        assert again["status"] == "completed" and again["loaded_rows"] == 0 and again["new_alerts"] == 0
        assert data_digest(store) == before
        assert len(list_alerts(store)) == alerts_before
        # the base drop again: nothing either
        assert run_nightly(store, Path(world["db"]).parent / "w" / "drop", config=CONFIG)["new_alerts"] == 0


def test_lock(world, db, tmp_path):
    with Store(db) as store:
        held = RunLock(lock_path(store))
        held.acquire("someone-else")
        before = store.content_digest()
        try:
            with pytest.raises(Conflict, match=f"pid {os.getpid()}"):
                run_nightly(store, world["nights"][0], config=CONFIG)
            assert store.content_digest() == before   # not even a runs row
        finally:
            held.release()
        # a lock file left by a dead process (no flock held) is stale: taken over and reported
        lock_path(store).write_text(json.dumps({"run_id": "dead", "pid": 999999, "host": os.uname().nodename}))
        r = run_nightly(store, world["nights"][0], config=CONFIG)
        assert r["status"] == "completed" and r["stale_lock"]["run_id"] == "dead"
        assert r["stale_lock"]["holder_alive"] is False
    # the CLI: a second run is refused with exit 3 and a clear message
    held = RunLock(Path(f"{db}.run.lock"))
    held.acquire("holder")
    try:
        out = subprocess.run([sys.executable, "-m", "intel.cli", "nightly", str(world["nights"][1]), "--db", str(db)],
                             cwd=ROOT, capture_output=True, text=True, timeout=120)
    finally:
        held.release()
    assert out.returncode == 3 and "another nightly run is in progress" in out.stderr


@pytest.mark.parametrize("stage", STAGES)
def test_fault_between_stages_then_rerun(world, db, stage):
    with Store(db) as store:
        before = data_digest(store)
        with pytest.raises(InjectedFault):
            run_nightly(store, world["nights"][1], fault_after_stage=stage, config=CONFIG)
        assert data_digest(store) == before          # the store serves the last complete state
        failed = store.rows("SELECT status, error FROM runs ORDER BY started_at DESC, run_id DESC LIMIT 1")[0]
        assert failed["status"] == "failed" and stage in failed["error"]
        done = run_nightly(store, world["nights"][1], config=CONFIG)
        assert done["status"] == "completed" and done["loaded_rows"] > 0


def test_killed_process_then_rerun(world, db):
    with Store(db) as store:
        before = data_digest(store)
    env = {**os.environ, "INTEL_FAULT_AFTER": "analytics", "INTEL_FAULT_MODE": "kill"}
    cmd = [sys.executable, "-m", "intel.cli", "nightly", str(world["nights"][2]), "--db", str(db)]
    killed = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert killed.returncode == -9, killed.stderr[-2000:]
    with Store(db) as store:
        assert data_digest(store) == before
        left = store.rows("SELECT run_id, status FROM runs WHERE status = 'running'")
        assert len(left) == 1
    env.pop("INTEL_FAULT_AFTER")
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["status"] == "completed" and report["loaded_rows"] > 0
    assert report["abandoned_runs_found"] == [left[0]["run_id"]] and report["stale_lock"]["run_id"] == left[0]["run_id"]
    with Store(db) as store:
        assert store.scalar("SELECT status FROM runs WHERE run_id = ?", [left[0]["run_id"]]) == "abandoned"


def test_users_act_while_a_run_is_open(world, db):
    """A user's acknowledgement, made on another cursor while the run's transaction is open,
    commits at once and survives the run; readers never see the run half done."""
    with Store(db) as store:
        target = list_alerts(store, status="open")[-1]["alert_id"]
        mentions_before = store.scalar("SELECT count(*) FROM mentions")
        seen = {}

        def during(stage: str) -> None:
            if stage != "analytics":
                return
            user = store.session()
            try:
                seen["mentions"] = user.scalar("SELECT count(*) FROM mentions")
                seen["ack"] = act_on_alert(user, target, "acknowledge", "ann", "seen during the run")["status"]
            finally:
                user.close()

        report = run_nightly(store.session(), world["nights"][1], on_stage=during, config=CONFIG)
        assert report["status"] == "completed"
        assert seen == {"mentions": mentions_before, "ack": "acknowledged"}
        assert store.scalar("SELECT count(*) FROM mentions") > mentions_before
        assert next(a for a in list_alerts(store) if a["alert_id"] == target)["status"] == "acknowledged"
