"""Benchmark the review queue after a decision: how long the analyst's next page waits.

    python3 bench/review_decision.py --db STORE [--pairs 2] [--config HUB.toml] [--workdir DIR]

STORE: a linked store with analytics (e.g. the 1.1M-mention one of bench/web.py); it is copied
to --workdir and the copy is decided on. In one process, on one ReviewQueueCache
(api/review_cache.py): rank the queue, then --pairs times interleaved:

- before: a decision (linkage.decisions.decide) then ``cache.invalidate()`` - what every commit
  did before issue 16 - and the first page (20 items), which waits for the rebuild;
- after: a decision then ``cache.decided(session, result)`` (the patch, findings/review_patch.py)
  and the first page, served patched at once.

Each decision settles the first item of the queue as it stands ('different', then 'same', the
same kind for the before and the after of a pair); each waits for the rebuild before the next
decision, so every one starts from a current ranking. Reported per decision: the decision's
commit, the patch (after only), the first page after it, and the rebuild. One JSON object on
stdout. Run it under ``flock /tmp/bench.lock``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.review_cache import ReviewQueueCache  # noqa: E402
from core.config import load_config  # noqa: E402
from core.store import Store  # noqa: E402
from linkage.decisions import decide  # noqa: E402


def _ms(t: float) -> float:
    return round((time.perf_counter() - t) * 1000, 1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--pairs", type=int, default=2)
    ap.add_argument("--config", type=Path, default=None, help="the hub's config (default: the shipped one)")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/bench_review_decision"))
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    db = args.workdir / "store.duckdb"
    shutil.copy(args.db, db)
    cfg = load_config(args.config) if args.config else load_config()
    out: dict = {"db": str(args.db), "load_before": os.getloadavg(), "decisions": []}
    with Store(db) as store:
        cache = ReviewQueueCache(store, cfg)
        session = store.session()
        try:
            t = time.perf_counter()
            summary, _ = cache.page(session, 0, 20, everything=True)
            out["first_rank_ms"], out["band_links"] = _ms(t), summary["band_links"]
            for n in range(args.pairs):
                kind = "different" if n % 2 == 0 else "same"
                for mode in ("before", "after"):
                    _, items = cache.page(session, 0, 1, everything=True)
                    it = items[0]
                    t = time.perf_counter()
                    result = decide(session, it["mention_a"], it["mention_b"], kind, "bench", "benchmark", config=cfg)
                    row = {"mode": mode, "decision": kind, "decide_ms": _ms(t)}
                    t = time.perf_counter()
                    if mode == "before":
                        cache.invalidate()
                    else:
                        cache.decided(session, result)
                        row["patch_ms"] = _ms(t)
                    page_t = time.perf_counter()
                    summary, page = cache.page(session, 0, 20, everything=True)
                    row["next_page_ms"], row["from_commit_to_page_ms"] = _ms(page_t), _ms(t)
                    row["refreshing"] = summary["refreshing"]
                    row["pair_shown"] = any({p["mention_a"], p["mention_b"]} == {it["mention_a"], it["mention_b"]}
                                            for p in page)
                    cache.wait()
                    row["rebuild_s"] = cache.last_build_s
                    print(json.dumps(row), file=sys.stderr)
                    out["decisions"].append(row)
        finally:
            session.close()
    out["load_after"] = os.getloadavg()
    shutil.rmtree(args.workdir, ignore_errors=True)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
