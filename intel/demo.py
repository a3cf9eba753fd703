"""``intel demo``: the whole service on a generated world, in an empty folder.

Generates a world (about 20 mentions per household), ingests it, and runs every later stage,
then reports what was found. Each stage is the same library call the CLI and the nightly run
make; nothing here is demo-only logic.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path
from collections.abc import Mapping
from typing import Any

from core.store import Store
from findings.alerts import list_alerts
from findings.runs import run_nightly
from fixtures.world import generate_world
from views.chronology import chronology


def _stage(report: dict[str, Any], name: str, fn):
    print(f"demo: {name} ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    result = fn()
    report["stages"][name] = {"seconds": round(time.perf_counter() - started, 2), "result": result}
    return result


def run_demo(folder: Path, *, config: Mapping[str, Any], households: int = 1000, seed: int = 7) -> dict[str, Any]:
    folder = Path(folder)
    world_dir = folder / "world"
    db_path = folder / "intel.duckdb"
    # A demo always starts from nothing, so its figures are reproducible.
    if world_dir.exists():
        shutil.rmtree(world_dir)
    for stale in folder.glob("intel.duckdb*"):
        stale.unlink()
    folder.mkdir(parents=True, exist_ok=True)

    report: dict[str, Any] = {"folder": str(folder.resolve()), "store": str(db_path.resolve()), "stages": {}}
    _stage(report, "generate", lambda: generate_world(world_dir, households=households, seed=seed))
    with Store(db_path) as store:
        # The first nightly run over the whole drop: ingest -> link (full, trains the model) ->
        # analytics -> alerts, atomically, exactly as the scheduled run does it.
        run = _stage(report, "nightly run", lambda: run_nightly(store, world_dir / "drop", config=config))
        report["stages"]["nightly run"]["result"] = {
            "run_id": run["run_id"], "stages": {k: {kk: vv for kk, vv in v.items() if kk != "timings"}
                                                for k, v in run["stages"].items()}}
        alerts = list_alerts(store, status="new")
        by_rule: dict[str, int] = {}
        for alert in alerts:
            by_rule[alert["rule"]] = by_rule.get(alert["rule"], 0) + 1
        report["alerts"] = {"new": len(alerts), "by_rule": dict(sorted(by_rule.items())),
                            "examples": [{k: a[k] for k in ("alert_id", "rule", "person_id", "household_key",
                                                             "severity", "explanation") if k in a}
                                         for a in _one_per_rule(alerts)]}
        # One chronology: the person the most alerts name, as an analyst would open first.
        person = _most_alerted(alerts)
        if person:
            chron = chronology(store, person_id=person, config=config)
            report["chronology"] = {"person": chron["person"], "events": chron["events"][:15],
                                    "events_total": len(chron["events"])}
    return report


def _one_per_rule(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for alert in alerts:
        seen.setdefault(alert["rule"], alert)
    return list(seen.values())


def _most_alerted(alerts: list[dict[str, Any]]) -> str | None:
    counts: dict[str, int] = {}
    for alert in alerts:
        if alert.get("person_id"):
            counts[alert["person_id"]] = counts.get(alert["person_id"], 0) + 1
    return max(sorted(counts), key=lambda p: counts[p]) if counts else None
