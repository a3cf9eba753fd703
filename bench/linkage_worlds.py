"""Linkage on several generated worlds and noise models: accuracy, look-alikes, the review queue.

For each (noise profile, seed): generate a world (fixtures.world), ingest it, link it with the
real model (trained on that world), run analytics, then measure against the world's truth:

- pairwise precision / recall / F1 of the persons (and B-cubed F1);
- look-alikes merged: planted twin pairs and namesake groups with two true people in one person,
  twin pairs that share an event (one contact naming both) merged;
- the review queue (findings/review.py): items, items that would complete a finding, and whether
  every such item ranks above every other;
- planted "harm_proximity" men (one man turning up at several families where children come to
  harm): raised as a finding on his person, or as a possible finding through review links.

Reproduce: ``python3 bench/linkage_worlds.py --households 750 --seeds 31,32,33 --noise standard,hard``
(one JSON line per world, then a summary line). Under 100k mentions each; run heavy sizes under
``flock /tmp/heavy.lock``.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.linkage import safety  # noqa: E402
from core.config import load_config  # noqa: E402
from core.store import Store  # noqa: E402
from findings.alert_raising import raise_alerts  # noqa: E402
from findings.analytics import run_analytics  # noqa: E402
from findings.possible_alerts import sync_possible_alerts  # noqa: E402
from findings.possible import possible_findings  # noqa: E402
from findings.review import review_queue  # noqa: E402
from bench.harm_proximity_rule import linked_side  # noqa: E402
from bench.mobile_men import diagnose  # noqa: E402
from fixtures.world import generate_world  # noqa: E402
from ingest.drops import ingest_drop  # noqa: E402
from linkage.evaluate import evaluate_frames  # noqa: E402
from linkage.export import persons_frame  # noqa: E402
from linkage.review import held_apart, review_links, review_threshold  # noqa: E402
from linkage.run import link  # noqa: E402


def twins_on_one_event(world: Path, pred: pl.DataFrame, truth: pl.DataFrame, persons: pl.DataFrame) -> dict:
    """Twin pairs whose two people appear on one event of one agency, and how many are merged."""
    t = truth.select("source", "record_id", pl.col("person").cast(pl.Utf8))
    events = pl.concat([pl.read_csv(world / "drop" / f"{s}.csv", infer_schema=False, columns=["record_id", "event_id"])
                        .with_columns(pl.lit(s).alias("source")) for s in ("police", "social_care", "health")])
    ev = t.join(events, on=["source", "record_id"]).select(pl.format("{}:{}", "source", "event_id").alias("ev"), "person")
    twins = persons.filter(pl.col("is_twin") == "true").select("person", "twin_of").filter(pl.col("person") < pl.col("twin_of"))
    shared = (ev.join(ev, on="ev", suffix="_b").join(twins, left_on=["person", "person_b"], right_on=["person", "twin_of"])
              .select("person", "person_b").unique())
    people = pred.join(t, on=["source", "record_id"]).select("person_id", "person").unique()
    merged = 0
    for a, b in shared.iter_rows():
        pa = set(people.filter(pl.col("person") == a)["person_id"].to_list())
        pb = set(people.filter(pl.col("person") == b)["person_id"].to_list())
        merged += bool(pa & pb)
    return {"twin_pairs_on_one_event": shared.height, "twin_pairs_on_one_event_merged": merged}


def mobile_men(world: Path, store: Store, truth: pl.DataFrame, possible_groups: list[dict]) -> dict:
    """Planted harm_proximity men: a finding on the person holding most of his mentions, or a
    possible finding whose group holds it."""
    scenarios = json.loads((world / "truth" / "scenarios.json").read_text())
    men = [s["focus_person"] for s in scenarios if s["kind"] == "harm_proximity" and s.get("planted", True)]
    pred = persons_frame(store)
    t = truth.select("source", "record_id", pl.col("person").cast(pl.Utf8))
    joined = pred.join(t, on=["source", "record_id"])
    found = {r["person_id"] for r in store.rows("SELECT person_id FROM findings WHERE rule = 'harm_proximity'")}
    possible = [set(g["person_ids"]) for g in possible_groups if g["rule"] == "harm_proximity"]
    raised = possibly = 0
    for man in men:
        his = joined.filter(pl.col("person") == man)
        if not his.height:
            continue
        mine = set(his["person_id"].to_list())
        if mine & found:
            raised += 1
        elif any(mine & g for g in possible):
            possibly += 1
    return {"mobile_men": len(men), "raised": raised, "possible": possibly, "missed": len(men) - raised - possibly}


def one_world(profile: str, seed: int, households: int, workdir: Path, linkage: dict | None = None) -> dict:
    world = workdir / f"{profile}-{seed}"
    t0 = time.perf_counter()
    generate_world(world, households=households, seed=seed, noise=profile)
    cfg = copy.deepcopy(load_config())
    cfg["linkage"].update(linkage or {})
    truth = pl.read_csv(world / "truth" / "truth.csv", infer_schema=False)
    persons = pl.read_csv(world / "truth" / "persons.csv", infer_schema_length=0)
    with Store(workdir / f"{profile}-{seed}.duckdb") as store:
        ingest_drop(store, world / "drop", report_dir=workdir / "reports")
        t = time.perf_counter()
        rep = link(store, config=cfg)
        t_link = time.perf_counter() - t
        run_analytics(store, cfg)
        pred = persons_frame(store)
        ev = evaluate_frames(pred, truth)
        t = time.perf_counter()
        queue = review_queue(store, cfg, limit=None)
        t_queue = time.perf_counter() - t
        flags = [bool(it["completes_findings"]) for it in queue["items"]]
        links = review_links(store, cfg)
        ps = sorted(set(links["person_a"].to_list()) | set(links["person_b"].to_list()))
        possible = possible_findings(store, cfg, links, held_apart(store, cfg, ps), review_threshold(cfg)) if ps else []
        confirmed = raise_alerts(store, None, cfg)["raised"]
        maybe = sync_possible_alerts(store, None, cfg)["raised"]
        diagnosis = diagnose(world, store, cfg, possible)
        hp = linked_side(world, store, cfg, links, held_apart(store, cfg, ps) if ps else None, review_threshold(cfg))
        band = {}
        for low in (0.8, 0.9, 0.95, 0.98):
            variant = copy.deepcopy(cfg)
            variant["identity"]["review_threshold"] = low
            band[str(low)] = review_links(store, variant).height
        res = {
            "bench": "linkage_world", "noise": profile, "seed": seed, "households": households,
            "linkage": linkage or {},
            "mentions": rep["mentions_total"], "persons": rep["persons_active"],
            "pairwise": {k: round(ev["pairwise"][k], 4) for k in ("precision", "recall", "f1")},
            "bcubed_f1": round(ev["bcubed"]["f1"], 4),
            "safety": {**safety(pred, truth, persons), **twins_on_one_event(world, pred, truth, persons)},
            "links_blocked_by_cannot_link": rep["links_blocked_by_cannot_link"],
            "mentions_contested": rep.get("mentions_contested"),
            "review": {"items": queue["total"], "band_links": queue["band_links"], "completing": queue["completing"],
                       "completing_ranked_first": flags == sorted(flags, reverse=True),
                       "possible_findings": queue["possible_findings"], "seconds": round(t_queue, 1)},
            "queue_items_by_review_threshold": band,
            "alerts": {"confirmed": confirmed, "possible": maybe,
                       "possible_share": round(maybe / (confirmed + maybe), 3) if confirmed + maybe else 0.0},
            "mobile_men": mobile_men(world, store, truth, possible),
            "mobile_men_true_persons": sum(d["true_rule"] for d in diagnosis),
            "harm_proximity": hp,
            "mobile_men_missed_why": [f"{d['man']}: {w}" for d in diagnosis for w in d["why"]
                                      if d["linked"] == "missed" or not d["true_rule"]],
            "link_s": round(t_link, 1), "total_s": round(time.perf_counter() - t0, 1),
        }
    print(json.dumps(res), flush=True)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--households", type=int, default=750)
    ap.add_argument("--seeds", default="31,32,33")
    ap.add_argument("--noise", default="standard,hard")
    ap.add_argument("--workdir", default="")
    ap.add_argument("--name-only", action="store_true", help="[linkage] name_only_blocking = true")
    args = ap.parse_args()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bench-worlds-"))
    workdir.mkdir(parents=True, exist_ok=True)
    linkage = {"name_only_blocking": True} if args.name_only else {}
    results = [one_world(p, int(s), args.households, workdir, linkage)
               for p in args.noise.split(",") for s in args.seeds.split(",")]
    summary = {}
    for p in args.noise.split(","):
        rs = [r for r in results if r["noise"] == p]
        summary[p] = {
            "worlds": len(rs),
            "precision": [r["pairwise"]["precision"] for r in rs], "recall": [r["pairwise"]["recall"] for r in rs],
            "f1": [r["pairwise"]["f1"] for r in rs],
            "twin_pairs_merged": f"{sum(r['safety']['twin_pairs_merged'] for r in rs)} of {sum(r['safety']['twin_pairs'] for r in rs)}",
            "twins_on_one_event_merged": f"{sum(r['safety']['twin_pairs_on_one_event_merged'] for r in rs)} of "
                                         f"{sum(r['safety']['twin_pairs_on_one_event'] for r in rs)}",
            "namesake_groups_merged": f"{sum(r['safety']['namesake_groups_merged'] for r in rs)} of "
                                      f"{sum(r['safety']['namesake_groups'] for r in rs)}",
            **{f"{k}_merged": f"{sum(r['safety'].get(k + '_merged', 0) for r in rs)} of "
                              f"{sum(r['safety'].get(k, 0) for r in rs)}" for k in ("triplet_groups", "junior_senior_pairs")},
            "mobile_men": {k: sum(r["mobile_men"][k] for r in rs) for k in ("mobile_men", "raised", "possible", "missed")},
            "mobile_men_found_on_true_persons": sum(r["mobile_men_true_persons"] for r in rs),
            "review_items": [r["review"]["items"] for r in rs],
            "harm_proximity": {when: {k: sum(r["harm_proximity"][when][k] for r in rs)
                                      for k in ("men", "raised", "possible", "missed", "findings", "others",
                                                "others_true", "others_false")} for when in ("now", "before")},
            "harm_proximity_alerts": {k: sum(r["harm_proximity"]["alerts"][k] for r in rs)
                                      for k in ("confirmed", "possible", "on_planted_men", "on_others", "on_others_false")},
            "alerts_confirmed_possible": [sum(r["alerts"]["confirmed"] for r in rs), sum(r["alerts"]["possible"] for r in rs)],
            "possible_alert_share": [r["alerts"]["possible_share"] for r in rs],
        }
    print(json.dumps({"bench": "summary", **summary}), flush=True)


if __name__ == "__main__":
    main()
