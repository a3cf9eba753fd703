"""Analytics validation and benchmark.

    python -m bench.analytics validate --households 2000 --seed 5 [--persons linkage|truth]
    python -m bench.analytics timing --world DIR            (a generated world, e.g. 53,000 households)
    python -m bench.analytics all --households 2000 --big-world DIR --out docs/bench-analytics.md

*validate*: generate a world, ingest its drop (ingest.drops), set ``person_mentions`` from the
linkage run (``linkage.run.link``) or, labelled as such, from the generator's truth, run
``findings.analytics.run_analytics``, then measure per rule

- **recall on planted cases**: the share of the generator's planted scenarios of the rule's kind
  that a finding of that rule names (the focus person; for escalation the child or one of the
  scenario's households; for networks a group holding the focus person);
  A planted case is *detectable* when the same rule on the true world (below) finds it: the
  generator sometimes plants a case the extracts cannot show (a man living at a household where
  no record places him); recall is reported over all planted cases and over detectable ones;
- **precision against the true world**: the same rules (graphs.pipeline.compute_all, the same
  code) on the true world, where every mention's person is the true person and its household the
  true home at the event date (truth.csv). An observed finding is correct when its subject, mapped
  to the truth (a person id to the true person most of its mentions belong to; a household key to
  the true home most mentions carrying it are at), has a finding of the same rule in the true
  world; a group when most of its mapped members lie in one true group.

*timing*: ingest a big world once, persons from truth (the timing is of analytics, not linkage),
time ``run_analytics`` end to end, and the 2-hop network view for 100 random people (median).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import polars as pl

from graphs.pipeline import RULES, compute_all
from findings.analytics import mentions_frame, run_analytics
from core.config import load_config
from ingest.drops import ingest_drop
from core.store import Store

CONFIG = load_config()

KIND_RULE = {"repeat_victim": "repeat_victim", "harm_proximity": "harm_proximity",
             "victim_offender": "victim_offender_overlap", "serial_perpetrator": "serial_perpetrator",
             "escalation": "escalation", "network": "networks"}


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def truth_frame(world: Path) -> pl.DataFrame:
    t = pl.read_csv(world / "truth" / "truth.csv", infer_schema_length=0)
    return t.select(
        pl.format("{}:{}", "source", "record_id").alias("mention_id"), pl.col("person").alias("true_person"),
        pl.when(pl.col("household_key") == "").then(None).otherwise(pl.col("household_key")).alias("true_household"))


def persons_from_truth(store: Store, world: Path) -> None:
    """person_mentions := the generator's true person (validation only, clearly not linkage)."""
    t = truth_frame(world)
    store.register("_truth", t)
    try:
        with store.transaction():
            store.execute("DELETE FROM person_mentions")
            store.execute("INSERT INTO person_mentions (mention_id, person_id) "
                          "SELECT m.mention_id, t.true_person FROM mentions m JOIN _truth t USING (mention_id)")
    finally:
        store.unregister("_truth")


def build_store(world: Path, db: Path, persons: str) -> tuple[Store, dict[str, Any]]:
    if db.exists():
        db.unlink()
    store = Store(db)
    t = time.perf_counter()
    ingest_drop(store, world / "drop")
    info: dict[str, Any] = {"ingest_s": round(time.perf_counter() - t, 1)}
    t = time.perf_counter()
    if persons == "linkage":
        from linkage.run import link
        link(store, config=CONFIG)
    else:
        persons_from_truth(store, world)
    info["persons_s"] = round(time.perf_counter() - t, 1)
    info["persons_from"] = persons
    return store, info


def _majority(frame: pl.DataFrame, key: str, value: str) -> dict[str, str]:
    f = (frame.filter(pl.col(key).is_not_null() & pl.col(value).is_not_null()).group_by([key, value]).len()
         .sort([key, "len", value], descending=[False, True, False]).unique(key, keep="first", maintain_order=True))
    return dict(zip(f[key].to_list(), f[value].to_list()))


def evaluate(store: Store, world: Path, config: dict[str, Any]) -> dict[str, Any]:
    obs_frame = mentions_frame(store)
    truth = truth_frame(world)
    obs = obs_frame.join(truth, on="mention_id", how="left")
    pmap = _majority(obs, "person_id", "true_person")
    hmap = _majority(obs, "household_key", "true_household")
    true_in = obs.with_columns(person_id=pl.col("true_person"), household_key=pl.col("true_household"))
    t = time.perf_counter()
    true_f = compute_all(true_in, config)["findings"]
    true_s = time.perf_counter() - t
    found = pl.from_dicts(store.rows("SELECT finding_key, rule, subject, person_id, household_key, evidence FROM findings"),
                          infer_schema_length=None) if store.rows("SELECT count(*) AS n FROM findings")[0]["n"] else None

    def subject_of(rule: str, person: str | None, household: str | None) -> str:
        return f"p:{person}" if person is not None else f"h:{household}"

    true_subjects = {r: set() for r in RULES}
    true_groups: dict[str, int] = {}
    for i, r in enumerate(true_f.iter_rows(named=True)):
        if r["rule"] == "networks":
            for p in r["persons"]:
                true_groups[p] = i
        else:
            true_subjects[r["rule"]].add(subject_of(r["rule"], r["person_id"], r["household_key"]))
    per_rule: dict[str, dict[str, Any]] = {r: {"found": 0, "correct": 0} for r in RULES}
    obs_subjects: dict[str, set[str]] = {r: set() for r in RULES}
    obs_groups: list[set[str]] = []
    for r in (found.iter_rows(named=True) if found is not None else []):
        rule = r["rule"]
        per_rule[rule]["found"] += 1
        if rule == "networks":
            members = {pmap.get(p) for p in json.loads(r["evidence"])["persons"]} - {None}
            obs_groups.append(members)
            votes = [true_groups[p] for p in members if p in true_groups]
            ok = bool(votes) and max(votes.count(v) for v in set(votes)) * 2 > len(members)
        else:
            subj = subject_of(rule, pmap.get(r["person_id"]) if r["person_id"] else None,
                              hmap.get(r["household_key"]) if r["household_key"] else None)
            obs_subjects[rule].add(subj)
            ok = subj in true_subjects[rule]
        per_rule[rule]["correct"] += int(ok)
    for rule in RULES:
        pr = per_rule[rule]
        pr["precision"] = round(pr["correct"] / pr["found"], 3) if pr["found"] else None
        pr["true_world_findings"] = (sum(1 for _ in set(true_groups.values())) if rule == "networks"
                                     else len(true_subjects[rule]))
    scenarios = json.loads((world / "truth" / "scenarios.json").read_text())
    scenarios = scenarios["scenarios"] if isinstance(scenarios, dict) else scenarios
    missed: list[dict[str, Any]] = []
    for s in scenarios:
        rule = KIND_RULE.get(s["kind"])
        if rule is None:
            continue
        pr = per_rule[rule]
        tag = "planted" if s.get("planted", True) else "natural"
        pr[tag] = pr.get(tag, 0) + 1
        if rule == "networks":
            hit = any(s["focus_person"] in g for g in obs_groups)
        elif rule == "escalation":
            hit = f"p:{s['focus_person']}" in obs_subjects[rule] or any(
                f"h:{h}" in obs_subjects[rule] for h in s["households"])
        else:
            hit = f"p:{s['focus_person']}" in obs_subjects[rule]
        if rule == "networks":
            in_truth = s["focus_person"] in true_groups
        elif rule == "escalation":
            in_truth = f"p:{s['focus_person']}" in true_subjects[rule] or any(
                f"h:{h}" in true_subjects[rule] for h in s["households"])
        else:
            in_truth = f"p:{s['focus_person']}" in true_subjects[rule]
        pr[f"{tag}_found"] = pr.get(f"{tag}_found", 0) + int(hit)
        if tag == "planted":
            pr["planted_detectable"] = pr.get("planted_detectable", 0) + int(in_truth)
            pr["planted_detectable_found"] = pr.get("planted_detectable_found", 0) + int(in_truth and hit)
        if not hit and tag == "planted":
            missed.append({"scenario": s["scenario_id"], "kind": s["kind"], "focus": s["focus_person"],
                           "found_in_true_world": in_truth})
    for rule in RULES:
        pr = per_rule[rule]
        if pr.get("planted"):
            pr["recall_planted"] = round(pr["planted_found"] / pr["planted"], 3)
            if pr.get("planted_detectable"):
                pr["recall_planted_detectable"] = round(pr["planted_detectable_found"] / pr["planted_detectable"], 3)
        if pr.get("natural"):
            pr["recall_natural"] = round(pr["natural_found"] / pr["natural"], 3)
    return {"per_rule": per_rule, "missed_planted": missed, "true_world_seconds": round(true_s, 2),
            "mentions": obs_frame.height}


def validate(households: int, seed: int, persons: str, workdir: Path) -> dict[str, Any]:
    from fixtures.world import generate_world

    world = workdir / f"world_{households}_{seed}"
    if not (world / "truth" / "scenarios.json").exists():
        generate_world(world, households=households, seed=seed)
    store, info = build_store(world, workdir / f"v_{households}_{seed}_{persons}.duckdb", persons)
    try:
        config = load_config()
        res = run_analytics(store, config)
        ev = evaluate(store, world, config)
    finally:
        store.close()
    return {"households": households, "seed": seed, **info, "analytics": res, **ev}


def network_timing(store: Store, n: int = 100, hops: int = 2, seed: int = 1) -> dict[str, Any]:
    from views.network_view import network_view

    people = [r[0] for r in store.connection.execute(
        "SELECT DISTINCT person_id FROM person_mentions ORDER BY 1").fetchall()]
    rng = random.Random(seed)
    sample = rng.sample(people, min(n, len(people)))
    network_view(store, sample[0], hops=hops, config=CONFIG)  # warm
    times, cpu, sizes = [], [], []
    load = os.getloadavg()[0]
    for p in sample:
        t, c = time.perf_counter(), time.process_time()
        v = network_view(store, p, hops=hops, config=CONFIG)
        times.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
        sizes.append(len(v["elements"]["nodes"]))
    return {"people": len(sample), "hops": hops, "median_ms": round(statistics.median(times), 1),
            "median_cpu_ms": round(statistics.median(cpu), 1), "load_average_at_start": round(load, 1),
            "p90_ms": round(sorted(times)[int(0.9 * len(times)) - 1], 1), "max_ms": round(max(times), 1),
            "median_nodes": statistics.median(sizes), "max_nodes": max(sizes)}


def timing(world: Path, workdir: Path) -> dict[str, Any]:
    db = workdir / "timing.duckdb"
    marker = workdir / "timing.ingested"
    if marker.exists() and marker.read_text() == str(world) and db.exists():
        store, info = Store(db), {"ingest_s": None, "persons_from": "truth", "reused_store": True}
    else:
        store, info = build_store(world, db, "truth")
        marker.write_text(str(world))
    try:
        mentions = store.rows("SELECT count(*) AS n FROM mentions")[0]["n"]
        log(f"timing: {mentions} mentions ingested in {info['ingest_s']} s; running analytics")
        load = os.getloadavg()[0]
        res = run_analytics(store, load_config())
        res["load_average_at_start"] = round(load, 1)
        log(f"timing: analytics {res['timings']}")
        net = network_timing(store)
        log(f"timing: network view {net}")
    finally:
        store.close()
    return {"world": str(world), "mentions": mentions, **info, "analytics": res, "network_view": net}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("what", choices=["validate", "timing", "all"])
    ap.add_argument("--households", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--persons", choices=["linkage", "truth"], default="linkage")
    ap.add_argument("--world", type=Path)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/bench-analytics"))
    ap.add_argument("--json", type=Path)
    a = ap.parse_args(argv)
    a.workdir.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {}
    if a.what in ("validate", "all"):
        out["validate"] = validate(a.households, a.seed, a.persons, a.workdir)
    if a.what in ("timing", "all"):
        out["timing"] = timing(a.world, a.workdir)
    text = json.dumps(out, indent=2, default=str)
    if a.json:
        a.json.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
