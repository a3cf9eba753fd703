"""``intel demo``: the whole service on a generated world, in an empty folder.

Generates a world (about 20 mentions per household), ingests it, and runs every later stage,
then reports what was found. Each stage is the same library call the CLI and the nightly run
make; nothing here is demo-only logic.

A demo starts from nothing, so its figures are reproducible; but a demo store someone has used
(users added, link decisions, alerts acted on) is not erased without ``fresh=True``
(``intel demo --fresh``): the demo refuses, saying what it holds.
"""

from __future__ import annotations

import logging
import re
import shutil
import sys
import time
from pathlib import Path
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from core.errors import IntelError
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


class _UntrainedLevels(logging.Filter):
    """Collects Splink's "level ... not observed in dataset, unable to train m value" warnings
    (one per level per training pass) instead of letting each through."""

    PATTERN = re.compile(r"Level (.+?) on comparison (\w+) not observed in dataset, unable to train m value")

    def __init__(self) -> None:
        super().__init__()
        self.levels: set[tuple[str, str]] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        m = self.PATTERN.search(record.getMessage())
        if m:
            self.levels.add((m.group(2), m.group(1)))
            return False
        return True


@contextmanager
def _untrained_levels_explained_once() -> Iterator[list[str]]:
    """Splink's warnings about comparison levels it could not train, said once, in words (stderr
    and the report): those levels never occurred among the pairs EM trained on (rare on a small
    world), so their m values keep the model's starting values; linking is otherwise unaffected."""
    logger = logging.getLogger("splink.internals.expectation_maximisation")
    collector = _UntrainedLevels()
    logger.addFilter(collector)
    note: list[str] = []
    try:
        yield note
    finally:
        logger.removeFilter(collector)
        if collector.levels:
            levels = "; ".join(f"{c}: {lv}" for c, lv in sorted(collector.levels))
            note.append(f"Splink could not train {len(collector.levels)} comparison level(s) ({levels}): none of the "
                        "pairs it trained on had them, so they keep the model's starting m values. Expected on a small "
                        "world; linking uses every other level as trained.")
            print(f"demo: {note[0]}", file=sys.stderr)


def _work_in(db_path: Path) -> dict[str, int]:
    """What people did in an existing demo store: users, link decisions, alert actions (non-zero only)."""
    if not db_path.exists():
        return {}
    with Store(db_path, create=False) as store:   # writable: a store of an older version is brought up to date
        tables = set(store.tables())
        found = {label: int(store.scalar(f"SELECT count(*) FROM {table}"))
                 for label, table in (("users", "users"), ("link decisions", "link_decisions"),
                                      ("alert actions", "alert_events")) if table in tables}
    return {k: v for k, v in found.items() if v}


def run_demo(folder: Path, *, config: Mapping[str, Any], households: int = 1000, seed: int = 7,
             fresh: bool = False) -> dict[str, Any]:
    folder = Path(folder)
    world_dir = folder / "world"
    db_path = folder / "intel.duckdb"
    work = _work_in(db_path)
    if work and not fresh:
        held = ", ".join(f"{n} {label if n != 1 else label[:-1]}" for label, n in work.items())
        raise IntelError(f"{db_path} holds {held}; a demo starts from nothing and would erase them: "
                         f"re-run with --fresh to erase them, or give another --folder")
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
        with _untrained_levels_explained_once() as untrained:
            run = _stage(report, "nightly run", lambda: run_nightly(store, world_dir / "drop", config=config))
        if untrained:
            report["linkage_note"] = untrained
        report["stages"]["nightly run"]["result"] = {
            "run_id": run["run_id"], "stages": {k: {kk: vv for kk, vv in v.items() if kk != "timings"}
                                                for k, v in run["stages"].items()}}
        alerts = list_alerts(store, status="open")
        by_rule: dict[str, int] = {}
        for alert in alerts:
            by_rule[alert["rule"]] = by_rule.get(alert["rule"], 0) + 1
        raised = run["stages"]["alerts"]
        report["alerts"] = {"open": len(alerts), "baseline": raised["baseline"], "by_rule": dict(sorted(by_rule.items())),
                            **({"note": raised["note"]} if raised.get("note") else {}),
                            "examples": [{k: a[k] for k in ("alert_id", "rule", "person_id", "household_key",
                                                             "severity", "explanation") if k in a}
                                         for a in _one_per_rule(alerts)]}
        # One chronology: the person the most alerts name, as an analyst would open first.
        person = _most_alerted(alerts)
        if person:
            chron = chronology(store, person_id=person, config=config)
            report["chronology"] = {"person": chron["person"], "events": chron["events"][:15],
                                    "events_total": len(chron["events"])}
        # reads of personal data need a purpose (it goes into the audit log with the login name)
        why = '--purpose "getting to know the demo"'
        report["next"] = [f"intel alerts --format table --db {db_path} {why}",
                          f"intel chronology {person or 'PERSON_ID'} --db {db_path} {why}",
                          f"(or: export INTEL_DB={db_path.resolve()}; commands that only read find "
                          f"{db_path} by themselves when run where ./run demo was)"]
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
