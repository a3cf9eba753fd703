"""A clustering change on kept worlds, without relinking: persons, pair F1, look-alikes and the review queue.

For each world kept by ``bench/linkage_worlds.py --workdir DIR`` (DIR/<noise>-<seed> and its
.duckdb store), a copy of the store is reclustered by this checkout as a full link run does
(``linkage.run.recluster`` over every mention, the stored ``link_edges`` as they are), then
measured against the world's truth: pair precision / recall / F1, contested records, planted
look-alike groups merged by kind and twins on one event merged (bench/linkage.py ``safety``,
bench/linkage_worlds.py); then (unless ``--no-queue``) analytics runs and the review queue is
read: items at stake, the band's links, items that would complete a finding and whether every
one of those ranks above every other item.

Reproduce: ``python3 bench/recluster_queue.py [--no-queue] DIR hard-61 hard-62 ...`` (one JSON
line a world, then a summary line; the copies go to DIR/recluster/).
"""

from __future__ import annotations

import argparse
import copy
import json
import shutil
import sys
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.linkage import safety  # noqa: E402
from bench.linkage_worlds import twins_on_one_event  # noqa: E402
from core.config import load_config  # noqa: E402
from core.store import Store  # noqa: E402
from findings.analytics import run_analytics  # noqa: E402
from findings.review import review_queue  # noqa: E402
from linkage.evaluate import evaluate_frames  # noqa: E402
from linkage.export import persons_frame  # noqa: E402
from linkage.run import identity_threshold, recluster, utc_now  # noqa: E402

KINDS = ("twin_pairs", "namesake_groups", "triplet_groups", "junior_senior_pairs", "twin_pairs_on_one_event")


def one(workdir: Path, world: str, queue: bool = True) -> dict:
    dst = workdir / "recluster" / f"{world}.duckdb"
    dst.parent.mkdir(exist_ok=True)
    shutil.copy(workdir / f"{world}.duckdb", dst)
    cfg = copy.deepcopy(load_config())
    t = time.perf_counter()
    truth = pl.read_csv(workdir / world / "truth" / "truth.csv", infer_schema=False)
    persons = pl.read_csv(workdir / world / "truth" / "persons.csv", infer_schema_length=0)
    with Store(dst) as store:
        with store.transaction():
            rep = recluster(store, None, threshold=identity_threshold(cfg), now=utc_now(), config=cfg, reason="bench")
        pred = persons_frame(store)
        ev = evaluate_frames(pred, truth)
        out = {"world": world, "contested": rep["mentions_contested"],
               **{k: round(ev["pairwise"][k], 4) for k in ("precision", "recall", "f1")},
               "lookalikes": {**safety(pred, truth, persons), **twins_on_one_event(workdir / world, pred, truth, persons)}}
        if queue:
            run_analytics(store, cfg)
            q = review_queue(store, cfg, limit=None)
            flags = [bool(it["completes_findings"]) for it in q["items"]]
            out.update({"items": q["total"], "band_links": q["band_links"], "completing": q["completing"],
                        "completing_ranked_first": flags == sorted(flags, reverse=True)})
    dst.unlink()
    out["s"] = round(time.perf_counter() - t, 1)
    return out


def merged_by_kind(rows: list[dict]) -> dict:
    """'merged of planted' per look-alike kind over the worlds."""
    out = {k: f"{sum(r['lookalikes'].get(k + '_merged', 0) for r in rows)} of "
              f"{sum(r['lookalikes'].get(k, 0) for r in rows)}" for k in KINDS}
    groups = ("twin_pairs", "namesake_groups", "triplet_groups", "junior_senior_pairs")
    out["all"] = (f"{sum(r['lookalikes'].get(k + '_merged', 0) for r in rows for k in groups)} of "
                  f"{sum(r['lookalikes'].get(k, 0) for r in rows for k in groups)}")
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("workdir")
    ap.add_argument("worlds", nargs="+")
    ap.add_argument("--no-queue", action="store_true", help="persons and look-alikes only (no analytics, no queue)")
    args = ap.parse_args()
    rows = []
    for w in args.worlds:
        rows.append(one(Path(args.workdir), w, queue=not args.no_queue))
        print(json.dumps(rows[-1]), flush=True)
    summary = {}
    for noise in sorted({r["world"].split("-")[0] for r in rows}):
        rs = [r for r in rows if r["world"].startswith(noise + "-")]
        summary[noise] = {"worlds": len(rs), "lookalikes_merged": merged_by_kind(rs),
                          "f1": [min(r["f1"] for r in rs), max(r["f1"] for r in rs)],
                          "recall": [min(r["recall"] for r in rs), max(r["recall"] for r in rs)],
                          "precision": [min(r["precision"] for r in rs), max(r["precision"] for r in rs)],
                          "contested": sum(r["contested"] for r in rs)}
        if not args.no_queue:
            summary[noise]["items"] = [min(r["items"] for r in rs), max(r["items"] for r in rs)]
    print(json.dumps({"bench": "summary", **summary}), flush=True)
