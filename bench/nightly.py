"""Benchmark: a nightly run of a ~5,000-mention drop onto a ~1M-mention store, and chronologies.

    python3 bench/nightly.py [--households 52000] [--seed 11] [--nights 8] [--workdir DIR]
                             [--chronologies 100] [--drop-rows 5000]

1. Setup (timed, reported, not the measurement): a synthetic world (fixtures.world) of
   --households households with --nights nightly drops; its base drop is run through the whole
   pipeline (ingest, full link with Splink, analytics, alerts; each stage committed so a failure
   late on can resume) into a base store. The base store
   is cached in --workdir (reused when the same world parameters ask for it again).
2. Tonight's drop: the nightly drops' rows in one drop folder, the latest version of each record
   (4,110 rows for 52,000 households and 8 nights), topped up to --drop-rows with rows re-sent
   unchanged from the base drop (re-sent rows replace the earlier version and are re-linked).
3. The measurement: ``run_nightly`` of tonight's drop onto a copy of the base store, with the
   per-stage breakdown from its run report. Target: 90 s or less.
4. Chronologies: ``chronology()`` for --chronologies people picked at random (seeded) among
   active persons, after the run; median / p90 / max in ms. Target: median 50 ms or less.

Prints one JSON object on stdout; progress on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import sys
import time
from pathlib import Path

import polars as pl
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fixtures.world import generate_world  # noqa: E402
from views.chronology import chronology  # noqa: E402
from core.config import load_config  # noqa: E402
from findings.runs import run_nightly  # noqa: E402
from core.store import Store  # noqa: E402

CONFIG = load_config()


def log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def build_base(work: Path, households: int, seed: int, nights: int) -> dict:
    tag = f"h{households}-s{seed}-n{nights}"
    base_db = work / f"base-{tag}.duckdb"
    world = work / f"world-{tag}"
    meta_path = work / f"base-{tag}.json"
    if base_db.exists() and meta_path.exists():
        log(f"reusing the base store {base_db}")
        return {**json.loads(meta_path.read_text()), "reused": True, "db": str(base_db), "world": str(world)}
    # the base is built stage by stage, each committed, so a failure late on can resume
    from findings.alert_raising import raise_alerts
    from findings.analytics import run_analytics
    from ingest.drops import ingest_drop
    from linkage.run import link

    stages: dict[str, float] = {}
    if not (world / "drop").exists():
        t = time.perf_counter()
        gen = generate_world(world, households=households, seed=seed, nightly_days=nights)
        stages["generate_s"] = round(time.perf_counter() - t, 1)
        log(f"world: {gen['mentions']['total']} mentions in {stages['generate_s']} s")
    with Store(base_db) as store:
        if not store.scalar("SELECT count(*) FROM drops"):
            t = time.perf_counter()
            ingest_drop(store, world / "drop", run_id="base")
            stages["ingest_s"] = round(time.perf_counter() - t, 1)
            log(f"base ingest: {stages['ingest_s']} s")
        if store.scalar("SELECT count(*) FROM mentions m ANTI JOIN linked_mentions l USING (mention_id)"):
            t = time.perf_counter()
            link(store, run_id="base-link", config=load_config())
            stages["link_s"] = round(time.perf_counter() - t, 1)
            log(f"base link: {stages['link_s']} s")
        t = time.perf_counter()
        run_analytics(store, config=CONFIG)
        stages["analytics_s"] = round(time.perf_counter() - t, 1)
        t = time.perf_counter()
        alerts = raise_alerts(store, "base", config=CONFIG)
        stages["alerts_s"] = round(time.perf_counter() - t, 1)
        mentions = store.scalar("SELECT count(*) FROM mentions")
        persons = store.scalar("SELECT count(*) FROM persons WHERE status = 'active'")
    log(f"base: {mentions} mentions, {persons} persons; {stages}")
    meta = {"households": households, "seed": seed, "nights": nights, "generate_s": stages.get("generate_s"),
            "base_run_s": round(sum(v for k, v in stages.items() if k != "generate_s"), 1),
            "base_mentions": mentions, "base_persons": persons, "base_stages_s": stages,
            "base_alerts": alerts["raised"]}
    meta_path.write_text(json.dumps(meta))
    return {**meta, "reused": False, "db": str(base_db), "world": str(world)}


def tonight_drop(world: Path, out: Path, target: int, seed: int) -> dict:
    """One drop holding every nightly drop's rows, per source, the latest version of each record
    (a later night re-sends a contact with its decision), topped up to ``target`` rows with rows
    re-sent unchanged from the base drop (agencies re-send rows; each is re-linked)."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    frames: dict[str, pl.DataFrame] = {}
    for source in ("police", "social_care", "health"):
        nights = [pl.read_csv(f, infer_schema=False) for f in sorted((world / "nightly").glob(f"*/{source}.csv"))]
        if nights:
            frames[source] = pl.concat(nights, how="diagonal").unique("record_id", keep="last", maintain_order=True)
    nightly = sum(f.height for f in frames.values())
    missing = max(0, target - nightly)
    resent = 0
    if missing:
        base = {src: pl.read_csv(world / "drop" / f"{src}.csv", infer_schema=False) for src in frames}
        total = sum(b.height for b in base.values())
        for i, (src, b) in enumerate(sorted(base.items())):
            n = missing - resent if i == len(base) - 1 else round(missing * b.height / total)
            extra = b.filter(~pl.col("record_id").is_in(frames[src]["record_id"].implode())).sample(n, seed=seed)
            frames[src] = pl.concat([frames[src], extra.select(frames[src].columns)], how="vertical")
            resent += n
    for src, f in frames.items():
        f.write_csv(out / f"{src}.csv")
    return {"rows": nightly + resent, "nightly_rows": nightly, "resent_rows": resent}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", type=int, default=52000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--nights", type=int, default=8)
    ap.add_argument("--chronologies", type=int, default=100)
    ap.add_argument("--drop-rows", type=int, default=5000, help="top tonight's drop up to this many rows")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/mash-bench-nightly"))
    args = ap.parse_args()
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)

    base = build_base(work, args.households, args.seed, args.nights)
    drop = work / "tonight"
    made = tonight_drop(Path(base["world"]), drop, args.drop_rows, args.seed)
    rows = made["rows"]
    log(f"tonight's drop: {made}")

    db = work / "run.duckdb"
    for p in (db, Path(f"{db}.wal"), Path(f"{db}.run.lock")):
        p.unlink(missing_ok=True)
    shutil.copy(base["db"], db)
    with Store(db) as store:
        t = time.perf_counter()
        report = run_nightly(store, drop, config=CONFIG)
        wall = time.perf_counter() - t
        log(f"nightly: {wall:.1f} s")
        mentions_after = store.scalar("SELECT count(*) FROM mentions")

        cfg = load_config()
        people = [r["person_id"] for r in store.rows("SELECT person_id FROM persons WHERE status = 'active' ORDER BY person_id")]
        rng = random.Random(args.seed)
        sample = rng.sample(people, min(args.chronologies, len(people)))
        chronology(store, person_id=sample[0], config=cfg)  # warm-up (imports, caches)
        times, entries = [], []
        for pid in sample:
            t = time.perf_counter()
            c = chronology(store, person_id=pid, config=cfg)
            times.append((time.perf_counter() - t) * 1000)
            entries.append(len(c["events"]))
    times.sort()
    out = {
        "machine": {"cpus": os.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30, 1)},
        "setup": {k: base[k] for k in ("households", "seed", "nights", "generate_s", "base_run_s", "base_mentions",
                                        "base_persons", "base_stages_s", "base_alerts", "reused")},
        "nightly": {
            "drop_rows": rows, "drop": made, "loaded": report["loaded_rows"], "rejected": report["rejected_rows"],
            "store_mentions_before": base["base_mentions"], "store_mentions_after": mentions_after,
            "wall_s": round(wall, 2), "target_s": 90, "met": wall <= 90,
            "stages_s": {k: v["seconds"] for k, v in report["stages"].items()},
            "commit_s": report.get("commit_seconds"),
            "link": {k: report["stages"]["link"].get(k) for k in ("mode", "mentions_new_or_changed", "timings")},
            "new_alerts_by_rule": report["new_alerts_by_rule"],
            "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
        },
        "chronology": {
            "people": len(times), "median_ms": round(statistics.median(times), 1),
            "p90_ms": round(times[int(0.9 * (len(times) - 1))], 1), "max_ms": round(times[-1], 1),
            "median_entries": statistics.median(entries), "max_entries": max(entries),
            "target_median_ms": 50, "met": statistics.median(times) <= 50,
        },
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
