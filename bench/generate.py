"""Benchmark the synthetic world generator: seconds, mentions/s and peak RSS.

    python3 bench/generate.py --households 50000 --seed 1 [--nightly-days 0] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fixtures.world import generate_world  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--households", type=int, default=50_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--nightly-days", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None, help="keep the world here (default: a temp folder)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = a.out or Path(tmp) / "world"
        t = time.perf_counter()
        summary = generate_world(out, households=a.households, seed=a.seed, nightly_days=a.nightly_days)
        secs = time.perf_counter() - t
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    ru = resource.getrusage(resource.RUSAGE_SELF)
    cpu = ru.ru_utime + ru.ru_stime
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss   # KiB on Linux
    total = summary["mentions"]["total"]
    print(json.dumps({
        "households": a.households, "seed": a.seed, "nightly_days": a.nightly_days,
        "mentions": total, "persons": summary["persons"], "seconds": round(secs, 2), "cpu_seconds": round(cpu, 2),
        "mentions_per_s": round(total / secs), "peak_rss_mib": round(peak_kib / 1024, 1),
        "bytes_written": size, "cpu_seconds_by_phase": summary["cpu_seconds_by_phase"], "load_average_1m": round(os.getloadavg()[0], 2),
    }, indent=1))


if __name__ == "__main__":
    main()
