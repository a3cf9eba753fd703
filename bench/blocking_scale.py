"""Benchmark: how the blocking grows with the data, and what the block-size caps cost in recall.

    flock -w 1800 /tmp/bench.lock python3 bench/blocking_scale.py [--sizes 100000,300000,1000000]
        [--worlds 750:31,750:32] [--hard-worlds 750:31] [--public febrl4,historical] [--workdir DIR]

For each data set (generated worlds of about each size, seed 5, as bench/spark.py builds them;
smaller standard and --noise hard worlds; FEBRL4 and historical_50k), with the features the link
builds (linkage.features), it counts exactly, in DuckDB, the distinct pairs the prediction
blocking rules put forward, twice in one run:

- ``capped``: the rules as they are (linkage/blocking.py: rules on a name and a date part skip
  blocks over their cap);
- ``uncapped``: the same rules joining on the keys the capped columns stand for (the rules
  before the caps).

and, against each data set's truth, the true pairs among them (blocking recall), the true
pairs the caps lose, and the reachable recall: the true pairs still joined by a path of
put-forward true pairs, the most pairwise recall clustering could reach. A pair that is not put forward is never scored, so when the caps lose no
true pair the persons cannot be worse for them; the persons themselves are measured by
bench/linkage_worlds.py and bench/linkage.py. Last, the growth of the comparisons from the
smallest to the largest size as an exponent of n, against n log n's over the same range, and
the same for the true pairs and for the comparisons that are not true pairs. ``--per-rule``
adds each rule's pairs, true pairs, and the pairs (and true pairs) no other rule puts forward.
One JSON object per line on stdout. Writes nothing into the repo.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.store import Store  # noqa: E402
from linkage import features as F  # noqa: E402
from linkage.blocking import CAPPED_KEYS, blocking_rules  # noqa: E402


def out(obj: dict) -> None:
    print(json.dumps(obj, default=str), flush=True)


def uncapped(rule: str) -> str:
    """The rule joining on the key a capped column stands for (the rule without its cap)."""
    for column, (key, _block, _cap) in CAPPED_KEYS.items():
        rule = re.sub(rf"\b(l|r)\.{column}\b", rf"\1.{key}", rule)
    return rule


def reachable_recall(c, name: str, true_pairs: int) -> float:
    """The most pairwise recall clustering could reach from these candidates: the true pairs whose
    mentions are joined by a path of put-forward true pairs (a lost pair whose two mentions are
    still connected through the person's other mentions costs nothing once clustered)."""
    n = c.execute("SELECT max(id) FROM _bs_f").fetchall()[0][0] + 1
    e = c.execute(f"SELECT p.a, p.b FROM _bs_{name} p SEMI JOIN _bs_tp t ON p.a = t.a AND p.b = t.b").fetchnumpy()
    _, label = connected_components(coo_matrix((np.ones(len(e["a"])), (e["a"], e["b"])), shape=(n, n)), directed=False)
    c.register("_bs_label", pl.DataFrame({"id": np.arange(n), "comp": label}).to_arrow())
    reach = c.execute("SELECT count(*) FROM _bs_tp t JOIN _bs_label la ON la.id = t.a JOIN _bs_label lb ON lb.id = t.b "
                      "WHERE la.comp = lb.comp").fetchall()[0][0]
    c.unregister("_bs_label")
    return round(reach / true_pairs, 5) if true_pairs else 1.0


def rule_breakdown(c, rules: list[str]) -> list[dict]:
    """Per rule (as it is, capped): its distinct pairs, the true ones, the pairs no other rule
    puts forward, and of those the true ones (what the rule alone finds)."""
    c.execute("CREATE OR REPLACE TEMP TABLE _bs_rules AS " + " UNION ALL ".join(
        f"SELECT DISTINCT {i} AS rule, l.id AS a, r.id AS b FROM _bs_f l JOIN _bs_f r ON ({r}) AND l.id < r.id"
        for i, r in enumerate(rules)))
    rows = c.execute("""
        WITH k AS (SELECT a, b, count(*) AS n, min(rule) AS first FROM _bs_rules GROUP BY a, b),
        t AS (SELECT k.*, tp.a IS NOT NULL AS true FROM k LEFT JOIN _bs_tp tp ON tp.a = k.a AND tp.b = k.b)
        SELECT r.rule, count(*) AS pairs, count(*) FILTER (t.true) AS true_pairs,
               count(*) FILTER (t.n = 1) AS only_here, count(*) FILTER (t.n = 1 AND t.true) AS true_only_here
        FROM _bs_rules r JOIN t ON t.a = r.a AND t.b = r.b GROUP BY r.rule ORDER BY r.rule""").fetchall()
    c.execute("DROP TABLE _bs_rules")
    return [{"rule": i, "sql": rules[i][:90], "pairs": p, "true": t, "false": p - t, "only_here": o,
             "true_only_here": to} for i, p, t, o, to in rows]


def measure(store: Store, truth: pl.DataFrame, rules: list[str], per_rule: bool = False) -> dict:
    """Distinct candidate pairs of ``rules`` over the store's features, capped and uncapped,
    with the true pairs each finds."""
    c = store.connection
    n = F.build_features(store, F.FEATURES_TABLE)
    c.execute(f"CREATE OR REPLACE TEMP TABLE _bs_f AS SELECT row_number() OVER () AS id, * FROM {F.FEATURES_TABLE}")
    c.register("_bs_truth_df", truth.select((pl.col("source") + ":" + pl.col("record_id")).alias("mention_id"),
                                            pl.col("person").cast(pl.Utf8)).to_arrow())
    c.execute("CREATE OR REPLACE TEMP TABLE _bs_t AS SELECT f.id, t.person FROM _bs_f f "
              "JOIN _bs_truth_df t USING (mention_id)")
    c.unregister("_bs_truth_df")
    c.execute("CREATE OR REPLACE TEMP TABLE _bs_tp AS SELECT a.id AS a, b.id AS b FROM _bs_t a "
              "JOIN _bs_t b ON a.person = b.person AND a.id < b.id")
    true_pairs = c.execute("SELECT count(*) FROM _bs_tp").fetchone()[0]
    res: dict = {"mentions": n, "true_pairs": true_pairs}
    for name, rs in (("capped", rules), ("uncapped", [uncapped(r) for r in rules])):
        t = time.perf_counter()
        c.execute(f"CREATE OR REPLACE TEMP TABLE _bs_{name} AS " + " UNION ".join(
            f"SELECT l.id AS a, r.id AS b FROM _bs_f l JOIN _bs_f r ON ({r}) AND l.id < r.id" for r in rs))
        found = c.execute(f"SELECT count(*) FROM _bs_tp SEMI JOIN _bs_{name} p ON _bs_tp.a = p.a AND _bs_tp.b = p.b").fetchone()[0]
        total = c.execute(f"SELECT count(*) FROM _bs_{name}").fetchone()[0]
        res[name] = {"comparisons": total, "per_mention": round(total / n, 2), "true_pairs_found": found,
                     "blocking_recall": round(found / true_pairs, 5) if true_pairs else 1.0,
                     "reachable_recall": reachable_recall(c, name, true_pairs),
                     "seconds": round(time.perf_counter() - t, 1)}
    res["true_pairs_lost_to_caps"] = c.execute(
        "SELECT count(*) FROM (SELECT a, b FROM _bs_tp SEMI JOIN _bs_uncapped u ON _bs_tp.a = u.a AND _bs_tp.b = u.b) x "
        "ANTI JOIN _bs_capped p ON x.a = p.a AND x.b = p.b").fetchone()[0]
    res["comparisons_saved"] = res["uncapped"]["comparisons"] - res["capped"]["comparisons"]
    if per_rule:
        res["per_rule"] = rule_breakdown(c, rules)
    for tbl in ("_bs_f", "_bs_t", "_bs_tp", "_bs_capped", "_bs_uncapped"):
        c.execute(f"DROP TABLE IF EXISTS {tbl}")
    return res


def world_store(households: int, seed: int, noise: str, workdir: Path) -> tuple[Path, pl.DataFrame]:
    from fixtures.world import generate_world
    from ingest.drops import ingest_drop

    w = workdir / f"world_{households}_{seed}_{noise}"
    db = workdir / f"world_{households}_{seed}_{noise}.duckdb"
    truth_csv = workdir / f"truth_{households}_{seed}_{noise}.csv"
    if not db.exists():
        generate_world(w, households=households, seed=seed, noise=noise)
        shutil.copy(w / "truth" / "truth.csv", truth_csv)
        with Store(db) as store:
            ingest_drop(store, w / "drop", report_dir=workdir / "reports")
        shutil.rmtree(w, ignore_errors=True)
    return db, pl.read_csv(truth_csv, infer_schema=False)


def public_store(name: str, workdir: Path) -> tuple[Path, pl.DataFrame]:
    from bench.linkage import febrl4, historical, load_rows

    rows, truth = febrl4() if name == "febrl4" else historical()
    db = workdir / f"{name}.duckdb"
    for f in workdir.glob(f"{name}.duckdb*"):
        f.unlink()
    with Store(db) as store:
        load_rows(store, rows)
    return db, truth


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="100000,300000,1000000", help="generated worlds (seed 5) of about these many mentions")
    ap.add_argument("--worlds", default="", help="HOUSEHOLDS:SEED,... standard-noise worlds")
    ap.add_argument("--hard-worlds", default="", help="HOUSEHOLDS:SEED,... --noise hard worlds")
    ap.add_argument("--public", default="", help="febrl4,historical")
    ap.add_argument("--workdir", default="")
    ap.add_argument("--per-rule", action="store_true", help="each rule's pairs, true pairs, and the pairs only it finds")
    args = ap.parse_args()
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="bench-blocking-"))
    workdir.mkdir(parents=True, exist_ok=True)
    from core.config import load_config

    rules = blocking_rules(load_config()["linkage"])
    out({"bench": "setup", "cpus": os.cpu_count(), "load_average": os.getloadavg(), "rules": len(rules),
         "capped_keys": {c: {"key": k, "block": list(b), "cap": cap} for c, (k, b, cap) in CAPPED_KEYS.items()}})
    try:
        sets: list[tuple[str, Path, pl.DataFrame]] = []
        for item in [x for x in args.worlds.split(",") if x]:
            h, s = (int(v) for v in item.split(":"))
            sets.append((f"world_{h}_seed{s}", *world_store(h, s, "standard", workdir)))
        for item in [x for x in args.hard_worlds.split(",") if x]:
            h, s = (int(v) for v in item.split(":"))
            sets.append((f"hard_world_{h}_seed{s}", *world_store(h, s, "hard", workdir)))
        for name in [x for x in args.public.split(",") if x]:
            sets.append((name, *public_store(name, workdir)))
        for name, db, truth in sets:
            with Store(db) as store:
                out({"bench": "data set", "name": name, **measure(store, truth, rules, args.per_rule)})
        sized = []
        for n in [int(x) for x in args.sizes.split(",") if x]:
            db, truth = world_store(max(50, round(n / 20.4)), 5, "standard", workdir)
            with Store(db) as store:
                row = {"bench": "size", "target": n, **measure(store, truth, rules, args.per_rule),
                       "load_average": os.getloadavg()}
            out(row)
            sized.append(row)
        if len(sized) >= 2:
            a, b = sized[0], sized[-1]
            span = math.log(b["mentions"] / a["mentions"])
            nlogn = math.log(b["mentions"] * math.log(b["mentions"]) / (a["mentions"] * math.log(a["mentions"]))) / span
            out({"bench": "summary", "from": a["mentions"], "to": b["mentions"], "n_log_n_exponent": round(nlogn, 3),
                 **{f"{k}_exponent": round(math.log(b[k]["comparisons"] / a[k]["comparisons"]) / span, 3)
                    for k in ("capped", "uncapped")},
                 # the true pairs grow with the people's records; what the blocking adds is the rest
                 "true_pairs_exponent": round(math.log(b["true_pairs"] / a["true_pairs"]) / span, 3),
                 **{f"{k}_not_true_exponent": round(math.log(
                     (b[k]["comparisons"] - b[k]["true_pairs_found"]) / (a[k]["comparisons"] - a[k]["true_pairs_found"]))
                     / span, 3) for k in ("capped", "uncapped")},
                 "capped_within_n_log_n": b["capped"]["comparisons"] / a["capped"]["comparisons"]
                 <= b["mentions"] * math.log(b["mentions"]) / (a["mentions"] * math.log(a["mentions"]))})
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
