"""Ingest throughput and peak memory at 100k and 1M mentions.

    python3 bench/ingest.py                 # 100k and 1M mentions
    python3 bench/ingest.py --sizes 5000    # households; about 20 mentions each

Each size: a world is generated once (cached under bench/out/), then ingested into a fresh
store in a child process, so the peak RSS measured is the ingest's own. Prints one JSON line per
size and a markdown table to paste into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out"


def world(households: int, seed: int = 11) -> Path:
    from fixtures.world import generate_world

    folder = OUT / f"world-{households}-{seed}"
    if not (folder / "drop" / "police.csv").exists():
        started = time.perf_counter()
        generate_world(folder, households=households, seed=seed)
        print(f"generated {folder.name} in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    return folder


def child(drop: str, db: str) -> None:
    """Runs in a fresh process: ingest one drop, print seconds and peak RSS."""
    from ingest.drops import ingest_drop
    from core.store import Store

    Path(db).unlink(missing_ok=True)
    started = time.perf_counter()
    with Store(db) as store:
        summary = ingest_drop(store, drop, report_dir=Path(db).parent / "reports")
    seconds = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"loaded": summary["loaded"], "rejected": summary["rejected"],
                      "seconds": round(seconds, 2), "peak_rss_mib": round(peak_mib)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 50000], help="households per world")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    OUT.mkdir(parents=True, exist_ok=True)
    rows = []
    for households in args.sizes:
        folder = world(households)
        db = OUT / f"ingest-{households}.duckdb"
        result = subprocess.run([sys.executable, __file__, "--child", str(folder / "drop"), str(db)],
                                check=True, capture_output=True, text=True)
        figures = json.loads(result.stdout.strip().splitlines()[-1])
        figures["households"] = households
        figures["mentions_per_s"] = round(figures["loaded"] / figures["seconds"])
        print(json.dumps(figures), flush=True)
        rows.append(figures)
        db.unlink(missing_ok=True)
    print("\n| households | mentions loaded | rejected | seconds | mentions/s | peak RSS (MiB) |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['households']:,} | {r['loaded']:,} | {r['rejected']:,} | {r['seconds']} | "
              f"{r['mentions_per_s']:,} | {r['peak_rss_mib']:,} |")


if __name__ == "__main__":
    main()
