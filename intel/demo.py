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
from typing import Any

from intel.store import Store


def _stage(report: dict[str, Any], name: str, fn):
    print(f"demo: {name} ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    result = fn()
    report["stages"][name] = {"seconds": round(time.perf_counter() - started, 2), "result": result}
    return result


def run_demo(folder: Path, *, households: int = 1000, seed: int = 7) -> dict[str, Any]:
    from fixtures.world import generate_world
    from intel.ingest import ingest_drop

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
        _stage(report, "ingest", lambda: ingest_drop(store, world_dir / "drop", report_dir=folder / "reports"))
    return report
