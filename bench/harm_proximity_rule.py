"""The harm_proximity rule alone, on the true persons: planted men found and who else it fires on.

Linkage aside (every mention's person is the generator's *true* person, households as the
extracts give them), for each (noise profile, seed) world this measures

- **planted men found**: the planted ``harm_proximity`` men (fixtures/scenarios.py) the rule
  raises, and for each missed one why (bench/mobile_men.py's per-event reasons);
- **who else it fires on**: harm_proximity findings on people who are *not* planted men, split
  into those the *true world* also finds (true person and true home at the event date,
  truth.csv, counted by household as before: a man who really was near harm at three homes, a
  natural case) and those it does not (false findings the extracts' noise made);

for the configuration as shipped and for each variant given with ``--variant KEY=VALUE`` (a key of
``[analytics.households]`` or ``[rules.harm_proximity]``), on the same frames in one run, so
before and after are compared on one world at one load.

``python3 bench/harm_proximity_rule.py --households 750 --seeds 101,102 --noise standard,hard
--variant count=households,harm_home_spells=false`` (the rule before 2026-12-07 evening)
(one JSON line per world, then a summary line). A 750-household world takes about 20 s here.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.analytics import persons_from_truth, truth_frame  # noqa: E402
from bench.mobile_men import _why_rule_misses, planted_men  # noqa: E402
from core.config import load_config  # noqa: E402
from core.store import Store  # noqa: E402
from findings.analytics import mentions_frame  # noqa: E402
from findings.dwellings import place_dwellings  # noqa: E402
from fixtures.world import generate_world  # noqa: E402
from graphs.pipeline import compute_all, rule_params  # noqa: E402
from ingest.drops import ingest_drop  # noqa: E402


BEFORE = "count=households,harm_home_spells=false,harm_street_days=0"
"""The rule as it was before 2026-12-07 evening: distinct household keys, the harm's placed household
only (and no street-alone records, graphs/street_near.py, so that the reference does not move with them)."""


def _variant(cfg: dict[str, Any], spec: str) -> dict[str, Any]:
    """A copy of ``cfg`` with each ``KEY=VALUE`` (comma-separated) set under [analytics.households]
    (keys it has, and ``harm_*``) or else [rules.harm_proximity]."""
    out = copy.deepcopy(cfg)
    for item in spec.split(","):
        key, _, raw = item.partition("=")
        value: Any = json.loads(raw) if raw[:1] in "[{0123456789-tf\"" and raw else raw
        hh = out.setdefault("analytics", {}).setdefault("households", {})
        if key in hh or key.startswith("harm_"):
            hh[key] = value
        else:
            out.setdefault("rules", {}).setdefault("harm_proximity", {})[key] = value
    return out


def world_frames(profile: str, seed: int, households: int, workdir: Path) -> tuple[Path, pl.DataFrame, pl.DataFrame]:
    """The world, its mentions frame on the true persons, and the true world's frame (true homes too)."""
    world = workdir / f"{profile}-{seed}"
    if not (world / "truth" / "scenarios.json").exists():
        generate_world(world, households=households, seed=seed, noise=profile)
    db = workdir / f"{profile}-{seed}-truth.duckdb"
    if db.exists():
        db.unlink()
    with Store(db) as store:
        ingest_drop(store, world / "drop", report_dir=workdir / "reports")
        persons_from_truth(store, world)
        place_dwellings(store)
        frame = mentions_frame(store)
    db.unlink()
    truth = truth_frame(world)
    true_in = frame.join(truth, on="mention_id", how="left").with_columns(
        person_id=pl.col("true_person"), household_key=pl.col("true_household")).drop("true_person", "true_household")
    return world, frame, true_in


def measure(world: Path, frame: pl.DataFrame, true_found: set[str], cfg: dict[str, Any]) -> dict[str, Any]:
    p = rule_params(cfg, "harm_proximity")
    res = compute_all(frame, cfg)
    f = res["findings"].filter(pl.col("rule") == "harm_proximity")
    fired = set(f["person_id"].to_list())
    men = planted_men(world)
    planted = {s["focus_person"] for s in men}
    others = fired - planted
    why = {s["focus_person"]: _why_rule_misses(res, s["focus_person"], s, p["window_days"], p["min_households"])
           for s in men if s["focus_person"] not in fired}
    return {"men": len(men), "found": len(planted & fired), "findings": len(fired),
            "others": len(others), "others_true": len(others & true_found),
            "others_false": len(others - true_found), "missed_why": why}


def one_world(profile: str, seed: int, households: int, workdir: Path, variants: list[str]) -> dict[str, Any]:
    t0 = time.perf_counter()
    world, frame, true_in = world_frames(profile, seed, households, workdir)
    base = load_config()
    # the reference: true persons at their true homes, one key per home, counted by household
    true_res = compute_all(true_in, _variant(base, BEFORE))["findings"]
    true_found = set(true_res.filter(pl.col("rule") == "harm_proximity")["person_id"].to_list())
    out: dict[str, Any] = {"bench": "harm_proximity_rule", "noise": profile, "seed": seed,
                           "mentions": frame.height, "true_world_findings": len(true_found)}
    for name in ["shipped", *variants]:
        cfg = base if name == "shipped" else _variant(base, name)
        t = time.perf_counter()
        out[name] = measure(world, frame, true_found, cfg)
        out[name]["seconds"] = round(time.perf_counter() - t, 2)
    out["total_s"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(out, default=str), flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--households", type=int, default=750)
    ap.add_argument("--seeds", default="101,102")
    ap.add_argument("--noise", default="standard,hard")
    ap.add_argument("--variant", action="append", default=[], help="KEY=VALUE, compared with the shipped config")
    ap.add_argument("--workdir", default="")
    args = ap.parse_args()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bench-hp-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(json.dumps({"bench": "start", "load_average": os.getloadavg(), "workdir": str(workdir)}), flush=True)
    rs = [one_world(p, int(s), args.households, workdir, args.variant)
          for p in args.noise.split(",") for s in args.seeds.split(",")]
    summary: dict[str, Any] = {}
    for p in args.noise.split(","):
        mine = [r for r in rs if r["noise"] == p]
        summary[p] = {name: {k: sum(r[name][k] for r in mine) for k in ("men", "found", "findings", "others",
                                                                      "others_true", "others_false")}
                      for name in ["shipped", *args.variant]}
        summary[p]["true_world_findings"] = sum(r["true_world_findings"] for r in mine)
    print(json.dumps({"bench": "summary", "load_average": os.getloadavg(), **summary}), flush=True)


if __name__ == "__main__":
    main()


def linked_side(world: Path, store: Store, cfg: dict[str, Any], links: pl.DataFrame, held: Any,
                review_at: float) -> dict[str, Any]:
    """On a *linked* store after analytics and alerts (bench/linkage_worlds.py): the rule now and
    before (:data:`BEFORE`) on the same linked persons: planted men raised / possible, and
    harm_proximity findings and alerts on people who are not planted men (a linked person is the
    true person most of its mentions belong to), split by the reference true world (true persons
    at their true homes, counted as before)."""
    from findings.possible import possible_findings

    frame = mentions_frame(store)
    truth = truth_frame(world)
    true_in = frame.join(truth, on="mention_id", how="left").with_columns(
        person_id=pl.col("true_person"), household_key=pl.col("true_household")).drop("true_person", "true_household")
    before = _variant(cfg, BEFORE)
    reference = set(compute_all(true_in, before)["findings"].filter(pl.col("rule") == "harm_proximity")["person_id"].to_list())
    owner = (frame.join(truth, on="mention_id").group_by("person_id", "true_person").len()
             .sort(["person_id", "len", "true_person"], descending=[False, True, False])
             .unique("person_id", keep="first", maintain_order=True))
    true_of = dict(zip(owner["person_id"].to_list(), owner["true_person"].to_list()))
    men = {s["focus_person"] for s in planted_men(world)}
    parts_of = {man: set(frame.join(truth.filter(pl.col("true_person") == man), on="mention_id")["person_id"].to_list())
                for man in men}

    def side(c: dict[str, Any], found: set[str]) -> dict[str, Any]:
        groups = [set(g["person_ids"]) for g in possible_findings(store, c, links, held, review_at)
                  if g["rule"] == "harm_proximity"] if links.height else []
        raised = {m for m in men if parts_of[m] & found}
        possible = {m for m in men - raised if any(parts_of[m] & g for g in groups)}
        others = {true_of.get(p) for p in found} - men - {None}
        return {"men": len(men), "raised": len(raised), "possible": len(possible),
                "missed": len(men) - len(raised) - len(possible), "findings": len(found),
                "others": len(others), "others_true": len(others & reference), "others_false": len(others - reference)}

    now_found = {r["person_id"] for r in store.rows("SELECT person_id FROM findings WHERE rule = 'harm_proximity'")}
    then_found = set(compute_all(frame, before)["findings"].filter(pl.col("rule") == "harm_proximity")["person_id"].to_list())
    alerts = store.rows("SELECT person_id, possible_links IS NOT NULL AS possible FROM alerts WHERE rule = 'harm_proximity'")
    on = [(true_of.get(a["person_id"]), a["possible"]) for a in alerts]
    return {"now": side(cfg, now_found), "before": side(before, then_found), "reference_true_world": len(reference),
            "alerts": {"confirmed": sum(not p for _, p in on), "possible": sum(p for _, p in on),
                       "on_planted_men": sum(t in men for t, _ in on),
                       "on_others": sum(t not in men for t, _ in on),
                       "on_others_false": sum(t not in men and t not in reference for t, _ in on)}}
