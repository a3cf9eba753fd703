"""Benchmark: the DuckDB and the Spark link engines side by side (issue 19).

    flock /tmp/heavy.lock python3 bench/spark.py [--sizes 100000,300000,1000000] [--workdir DIR]
                                                 [--driver-memory 6g] [--master local[*]]

For each size: a generated world of about that many mentions (fixtures.world, seed 5) is ingested
and one model trained on it (DuckDB, as both engines use it); then a full link (score, cluster,
stable ids: ``intel link --full``'s work) runs on a copy of the store with each engine, each in a
child process, so its peak memory is its own: the resident memory of the child and all its
children (the JVM of Spark's driver included) sampled every 100 ms. Also per size: the
comparisons the blocking rules generate (Splink's exact count on DuckDB, the same for both
engines), and how far the two engines' persons agree (linkage.agreement). One JSON object per
line on stdout; a summary last, with the growth exponents of comparisons and time against n log n.
Writes nothing into the repo (stores under --workdir, default a temporary folder).
"""

from __future__ import annotations

import argparse
from copy import deepcopy
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.config import load_config  # noqa: E402
from core.store import Store  # noqa: E402


def out(obj: dict) -> None:
    print(json.dumps(obj, default=str), flush=True)


class TreePeak:
    """Peak resident memory of a process and all its descendants, sampled every 100 ms."""

    def __init__(self, pid: int) -> None:
        self.proc = psutil.Process(pid)
        self.peak = 0
        self.loads: list[float] = []
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            try:
                procs = [self.proc, *self.proc.children(recursive=True)]
                rss = 0
                for p in procs:
                    try:
                        rss += p.memory_info().rss
                    except psutil.Error:
                        pass
                self.peak = max(self.peak, rss)
                self.loads.append(os.getloadavg()[0])
            except psutil.Error:
                return

    def stop(self) -> float:
        self._stop.set()
        self._t.join()
        return round(self.peak / 2**30, 2)


def child(engine: str, db: str, cfg_json: str) -> None:
    """One full link run on ``db`` with ``engine``; prints its report's figures."""
    from linkage.run import link
    from linkage.spark_engine import engine_from_config

    cfg = json.loads(cfg_json)
    eng = engine_from_config(cfg, engine)
    t = time.perf_counter()
    with Store(db) as store:
        rep = link(store, full=True, config=cfg, engine=eng)
    out({"seconds": round(time.perf_counter() - t, 2), "timings": rep["timings"],
         "scoring_seconds": rep["scoring"].get("seconds"), "edges": rep["edges_total"],
         "persons": rep["persons_active"]})


def run_child(engine: str, db: Path, cfg: dict) -> dict:
    cmd = [sys.executable, __file__, "--child", engine, "--db", str(db), "--config-json", json.dumps(cfg)]
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
    peak = TreePeak(p.pid)
    stdout, _ = p.communicate()
    wall = time.perf_counter() - t
    res = {"peak_rss_gib_incl_children": peak.stop(), "wall_s": round(wall, 2), "exit": p.returncode}
    if peak.loads:   # the machine's 1-minute load average while this child ran: min, mean, max
        res["load_average"] = [round(min(peak.loads), 1), round(sum(peak.loads) / len(peak.loads), 1),
                               round(max(peak.loads), 1)]
    lines = [ln for ln in stdout.splitlines() if ln.startswith("{")]
    if lines:
        res.update(json.loads(lines[-1]))
    return res


def comparisons(db: Path) -> int:
    from linkage.blocking import blocking_rules
    from linkage.model import SplinkSession, settings_creator

    cfg = load_config()
    with Store(db) as store, SplinkSession(store, settings_creator(cfg)) as s:
        recs = s.linker.blocking_analysis.count_comparisons_from_blocking_rules(
            blocking_rules(cfg["linkage"]), record_sample_proportion=1.0)
    return int(recs[-1]["cumulative_comparison_count"]) if recs else 0


def prepare(n_target: int, workdir: Path) -> tuple[Path, int, dict]:
    from fixtures.world import generate_world
    from ingest.drops import ingest_drop
    from linkage.model import load_or_train

    households = max(50, round(n_target / 20.4))
    w = workdir / f"world_{households}"
    db = workdir / f"base_{households}.duckdb"
    t = time.perf_counter()
    if not db.exists():
        generate_world(w, households=households, seed=5)
        with Store(db) as store:
            ingest_drop(store, w / "drop")
            load_or_train(store, load_config())
            store.connection.execute("CHECKPOINT").fetchall()
        shutil.rmtree(w, ignore_errors=True)
    with Store(db, read_only=True) as store:
        n = int(store.rows("SELECT count(*) AS n FROM mentions")[0]["n"])
    return db, n, {"households": households, "prepare_s": round(time.perf_counter() - t, 1)}


def persons(db: Path):
    with Store(db, read_only=True) as store:
        return store.df("SELECT mention_id, person_id FROM person_mentions")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="100000,300000,1000000")
    ap.add_argument("--workdir", default="")
    ap.add_argument("--master", default="local[*]")
    ap.add_argument("--driver-memory", default="6g")
    ap.add_argument("--engines", default="duckdb,spark")
    ap.add_argument("--child", default="")
    ap.add_argument("--db", default="")
    ap.add_argument("--config-json", default="")
    args = ap.parse_args()
    if args.child:
        child(args.child, args.db, args.config_json)
        return
    from linkage.agreement import person_agreement

    sizes = [int(x) for x in args.sizes.split(",") if x]
    engines = [e for e in args.engines.split(",") if e]
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="bench-spark-"))
    workdir.mkdir(parents=True, exist_ok=True)
    cfg = deepcopy(load_config())   # the loaded configuration is read-only
    cfg["spark"].update({"master": args.master, "driver_memory": args.driver_memory, "progress": False})
    out({"bench": "setup", "cpus": os.cpu_count(), "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
         "load_average": os.getloadavg(), "sizes": sizes, "spark": cfg["spark"], "workdir": str(workdir)})
    rows = []
    try:
        for n_target in sizes:
            db, n, prep = prepare(n_target, workdir)
            row = {"bench": "size", "target": n_target, "mentions": n, **prep,
                   "comparisons": comparisons(db), "load_average_before": os.getloadavg()}
            copies = {}
            for engine in engines:
                copy = workdir / f"{engine}_{n}.duckdb"
                shutil.copy(db, copy)
                row[engine] = run_child(engine, copy, cfg)
                copies[engine] = copy
            if {"duckdb", "spark"} <= set(copies):
                ag = person_agreement(persons(copies["duckdb"]), persons(copies["spark"]))
                row["agreement"] = {k: (round(v, 6) if isinstance(v, float) else v) for k, v in ag.items()}
                if row["duckdb"].get("seconds") and row["spark"].get("seconds"):
                    row["spark_over_duckdb_time"] = round(row["spark"]["seconds"] / row["duckdb"]["seconds"], 2)
            for copy in copies.values():
                for f in copy.parent.glob(copy.name + "*"):
                    f.unlink()
            out(row)
            rows.append(row)
        if len(rows) >= 2:
            a, b = rows[0], rows[-1]
            ratio = math.log(b["mentions"] / a["mentions"])
            nlogn = math.log((b["mentions"] * math.log(b["mentions"])) / (a["mentions"] * math.log(a["mentions"]))) / ratio
            summary = {"bench": "summary", "from": a["mentions"], "to": b["mentions"],
                       "comparisons_exponent": round(math.log(b["comparisons"] / a["comparisons"]) / ratio, 3),
                       "n_log_n_exponent": round(nlogn, 3)}
            for engine in engines:
                if a.get(engine, {}).get("seconds") and b.get(engine, {}).get("seconds"):
                    summary[f"{engine}_time_exponent"] = round(
                        math.log(b[engine]["seconds"] / a[engine]["seconds"]) / ratio, 3)
            out(summary)
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
