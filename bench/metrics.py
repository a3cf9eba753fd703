"""Benchmark: ``intel metrics`` over a ~1.1M-mention store, as a hub runs it (a fresh process).

    python3 bench/metrics.py [--households 53000] [--seed 11] [--nights 8] [--workdir DIR] [--repeats 3] [--nightly]

1. Setup (reported, not the measurement): the base store of bench/nightly.py (a synthetic world
   through ingest, full link, analytics and alerts; cached in --workdir), copied once to
   ``metrics.duckdb``; with --nightly, tonight's drop run onto it with ``run_nightly`` (so the
   store has a nightly run and its report); then a seeded sample of alerts acknowledged and
   closed through ``act_on_alert`` (so time-to-acknowledge has data). The prepared store is cached.
2. The measurement: ``python3 -m intel.cli metrics --db STORE --format F --by B --out FILE`` in a
   child process, --repeats times each, for json / csv / html by month over the default range (a
   year of whole months to today), html by quarter, and json by month over every year of the
   data; wall-clock seconds (median and max) and the child's peak RSS. Target: 10 s or less.
3. Where the time goes, in process: reading the rows, computing, rendering each format.

Prints one JSON object on stdout; progress on stderr. Run under ``flock /tmp/heavy.lock``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from nightly import build_base, tonight_drop  # noqa: E402

from core.config import load_config  # noqa: E402
from core.store import Store  # noqa: E402
from findings.alerts import act_on_alert  # noqa: E402
from findings.metrics import hub_metrics, parse_range  # noqa: E402
from findings.metrics_data import load_metrics_data  # noqa: E402
from findings.metrics_settings import MetricsSettings  # noqa: E402
from findings.runs import run_nightly  # noqa: E402
from views.metrics_report import render  # noqa: E402


def log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def prepare(work: Path, base: dict, seed: int, nightly: bool) -> dict:
    """The measured store: the base store, (with --nightly) tonight's nightly run onto it, and
    people acting on alerts."""
    db = work / "metrics.duckdb"
    meta_path = work / "metrics-store.json"
    if db.exists() and meta_path.exists():
        log(f"reusing the prepared store {db}")
        return {**json.loads(meta_path.read_text()), "reused": True}
    for p in (db, Path(f"{db}.wal"), Path(f"{db}.run.lock")):
        p.unlink(missing_ok=True)
    shutil.copy(base["db"], db)
    cfg = load_config()
    with Store(db) as store:
        report, nightly_s = {}, None
        if nightly:
            tonight_drop(Path(base["world"]), work / "tonight", 5000, seed)
            t = time.perf_counter()
            report = run_nightly(store, work / "tonight", config=cfg)
            nightly_s = round(time.perf_counter() - t, 1)
            log(f"nightly run onto the copy: {nightly_s} s")
        ids = [r["alert_id"] for r in store.rows("SELECT alert_id FROM alerts ORDER BY alert_id")]
        rng = random.Random(seed)
        acked = rng.sample(ids, min(300, len(ids)))
        for alert_id in acked:
            act_on_alert(store, alert_id, "acknowledge", "bench analyst", "seen at the daily MASH meeting")
        for alert_id in acked[:100]:
            act_on_alert(store, alert_id, "close", "bench analyst", "strategy discussion held")
        figures = store.rows(
            "SELECT (SELECT count(*) FROM mentions) AS mentions, (SELECT count(*) FROM events) AS events, "
            "(SELECT count(*) FROM alerts) AS alerts, (SELECT count(*) FROM alert_events) AS alert_events, "
            "(SELECT count(*) FROM runs) AS runs, (SELECT min(event_date)::DATE FROM events) AS first_event, "
            "(SELECT max(event_date)::DATE FROM events) AS last_event")[0]
    meta = {"nightly_s": nightly_s, "nightly_status": report.get("status"),
            **{k: (v.isoformat() if isinstance(v, date) else v) for k, v in figures.items()}}
    meta_path.write_text(json.dumps(meta))
    return {**meta, "reused": False}


def time_cli(db: Path, out_dir: Path, args: list[str], repeats: int) -> dict:
    times, cpu, rss = [], [], []
    for i in range(repeats):
        out = out_dir / f"metrics-{'-'.join(a.strip('-') for a in args)}-{i}"
        cmd = [sys.executable, "-m", "intel.cli", "metrics", "--db", str(db), *args, "--out", str(out)]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr}")
        times.append(wall)
        rss.append(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**10)
        size = out.stat().st_size
    return {"args": " ".join(args), "runs": repeats, "median_s": round(statistics.median(times), 2),
            "max_s": round(max(times), 2), "median_cpu_s": round(statistics.median(cpu), 2), "output_bytes": size, "children_peak_rss_mib": round(max(rss)),
            "met": max(times) <= 10}


def in_process(db: Path, first: date, last: date) -> dict:
    cfg = load_config()
    settings = MetricsSettings.from_config(cfg)
    out = {}
    with Store(db, read_only=True) as store:
        t = time.perf_counter()
        data = load_metrics_data(store, first, last, settings, cfg)
        out["read_s"] = round(time.perf_counter() - t, 2)
    out["rows_read"] = {"events": data.events.height, "contacts": data.contacts.height,
                        "person_rows": data.person_rows.height, "alerts": data.alerts.height,
                        "alert_events": data.alert_events.height, "runs": data.runs.height}
    t = time.perf_counter()
    report = hub_metrics(data, settings, first, last, "month")
    out["compute_s"] = round(time.perf_counter() - t, 2)
    for fmt in ("json", "csv", "html"):
        t = time.perf_counter()
        render(report, fmt)
        out[f"render_{fmt}_s"] = round(time.perf_counter() - t, 2)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", type=int, default=53000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--nights", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/mash-bench-metrics"))
    ap.add_argument("--nightly", action="store_true", help="run tonight's drop onto the store first (runs table)")
    args = ap.parse_args()
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    base = build_base(work, args.households, args.seed, args.nights)
    store = prepare(work, base, args.seed, args.nightly)
    db = work / "metrics.duckdb"
    out_dir = work / "reports"
    out_dir.mkdir(exist_ok=True)
    first_year = int(store["first_event"][:4])
    cases = [["--format", "json"], ["--format", "csv"], ["--format", "html"], ["--format", "html", "--by", "quarter"],
             ["--format", "json", "--from", f"{first_year}-01-01"]]
    runs = []
    for case in cases:
        r = time_cli(db, out_dir, case, args.repeats)
        log(f"{r['args']}: median {r['median_s']} s, max {r['max_s']} s")
        runs.append(r)
    first, last, _ = parse_range(None, None, "month")
    print(json.dumps({
        "machine": {"cpus": os.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
                    "load_average": [round(x, 1) for x in os.getloadavg()]},
        "store": {**{k: base[k] for k in ("households", "seed", "base_mentions", "base_persons")}, **store},
        "cli": runs, "target_s": 10, "met": all(r["met"] for r in runs),
        "in_process_default_range": {"from": first.isoformat(), "to": last.isoformat(), **in_process(db, first, last)},
    }, indent=2))


if __name__ == "__main__":
    main()
