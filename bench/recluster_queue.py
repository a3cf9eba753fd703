"""A clustering change on kept worlds, without relinking: persons, pair F1 and the review queue.

For each world kept by ``bench/linkage_worlds.py --workdir DIR`` (DIR/<noise>-<seed> and its
.duckdb store), a copy of the store is reclustered by this checkout as a full link run does
(``linkage.run.recluster`` over every mention, the stored ``link_edges`` as they are), then
analytics runs and the review queue is read: items at stake, the band's links, items that
would complete a finding and whether every one of those ranks above every other item.

Reproduce: ``python3 bench/recluster_queue.py DIR hard-61 hard-62 ...`` (one JSON line a world;
the copies go to DIR/recluster/).
"""

from __future__ import annotations

import copy
import json
import shutil
import sys
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.config import load_config  # noqa: E402
from core.store import Store  # noqa: E402
from findings.analytics import run_analytics  # noqa: E402
from findings.review import review_queue  # noqa: E402
from linkage.evaluate import evaluate_frames  # noqa: E402
from linkage.export import persons_frame  # noqa: E402
from linkage.run import identity_threshold, recluster, utc_now  # noqa: E402


def one(workdir: Path, world: str) -> dict:
    dst = workdir / "recluster" / f"{world}.duckdb"
    dst.parent.mkdir(exist_ok=True)
    shutil.copy(workdir / f"{world}.duckdb", dst)
    cfg = copy.deepcopy(load_config())
    t = time.perf_counter()
    with Store(dst) as store:
        with store.transaction():
            rep = recluster(store, None, threshold=identity_threshold(cfg), now=utc_now(), config=cfg, reason="bench")
        run_analytics(store, cfg)
        q = review_queue(store, cfg, limit=None)
        flags = [bool(it["completes_findings"]) for it in q["items"]]
        truth = pl.read_csv(workdir / world / "truth" / "truth.csv", infer_schema=False)
        ev = evaluate_frames(persons_frame(store), truth)
    return {"world": world, "items": q["total"], "band_links": q["band_links"], "completing": q["completing"],
            "completing_ranked_first": flags == sorted(flags, reverse=True), "contested": rep["mentions_contested"],
            "f1": round(ev["pairwise"]["f1"], 4), "s": round(time.perf_counter() - t, 1)}


if __name__ == "__main__":
    for w in sys.argv[2:]:
        print(json.dumps(one(Path(sys.argv[1]), w)), flush=True)
