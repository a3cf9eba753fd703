"""Why a planted mobile harmful adult is missed: a per-man diagnosis on a linked generated world.

For each planted ``harm_proximity`` man (fixtures/scenarios.py: one man living in three homes in
turn while a child is harmed in each) it tells apart the two ways to miss him:

- **rule**: the analytics rule misses him even on the *true* persons (same mentions, person :=
  the world's true person): which of his three harm events did not count (the child not recorded
  as harmed, the harm placed at another household, the man not near it: not in the event and not
  living there by his records on that day), or the three fell outside the window;
- **linkage**: the rule finds him on the true persons but not on the linked persons (nor as a
  possible finding through review links): into how many persons his records were split, which
  records each holds, and the strongest scored link between the parts (none: never compared).

Used by bench/linkage_worlds.py (``--diagnose``); standalone on a kept workdir:
``python3 bench/mobile_men.py WORKDIR/hard-41`` (the world folder; its store WORKDIR/hard-41.duckdb).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.config import load_config  # noqa: E402
from core.store import Store  # noqa: E402
from findings.analytics import mentions_frame  # noqa: E402
from findings.possible import possible_findings  # noqa: E402
from graphs.pipeline import compute_all, rule_params  # noqa: E402
from linkage.review import held_apart, review_links, review_threshold  # noqa: E402


def planted_men(world: Path) -> list[dict[str, Any]]:
    scenarios = json.loads((world / "truth" / "scenarios.json").read_text())
    return [s for s in scenarios if s["kind"] == "harm_proximity" and s.get("planted", True)]


def _truth(world: Path) -> pl.DataFrame:
    t = pl.read_csv(world / "truth" / "truth.csv", infer_schema=False)
    return t.select(pl.format("{}:{}", "source", "record_id").alias("mention_id"), pl.col("person").alias("true_person"))


def _why_rule_misses(res: dict[str, Any], man: str, scen: dict[str, Any], window: int, need: int) -> list[str]:
    """The planted harm events that did not count for him under the true persons, in words."""
    harmed, near = res["harmed"], res["near"]
    why = []
    counted = near.filter(pl.col("person_id") == man)
    for ev in scen["events"]:
        h = harmed.filter(pl.col("event_key") == ev)
        if not h.height:
            continue   # his own GP visit near the harm, not a harm event
        kids = set(scen["persons"][1:])
        hk = h.filter(pl.col("person_id").is_in(list(kids)))
        if not hk.height:
            why.append(f"{ev}: harm recorded but not to the planted child")
            continue
        n = counted.filter(pl.col("event_key") == ev)
        if not n.height:
            hh = hk["household_key"].to_list()
            why.append(f"{ev} ({hk['date'][0]}): not near it (harm placed at {hh}; his household then: "
                       f"{_household_on(res, man, hk['date'][0])})")
    for ev in scen["events"]:
        if not harmed.filter(pl.col("event_key") == ev).height and ev.startswith(("social_care", "police")):
            why.append(f"{ev}: no harm recorded")
    hh = counted["household_key"].drop_nulls().unique().to_list()
    if len(hh) >= need and not why:
        dates = counted.sort("date")["date"].to_list()
        why.append(f"near harm at {len(hh)} households but not {need} within {window} days ({dates[0]}..{dates[-1]})")
    if len(hh) < need and not why:
        why.append(f"near harm at {len(hh)} distinct households only: {hh}")
    return why


def _household_on(res: dict[str, Any], person: str, day: Any) -> str:
    s = res["spells"].filter(pl.col("person_id") == person)
    on = s.filter((pl.col("start").is_null() | (pl.col("start") <= day)) & (pl.col("end").is_null() | (pl.col("end") > day)))
    return ",".join(on["household_key"].to_list()) or "none"


def diagnose(world: Path, store: Store, config: dict[str, Any], possible_groups: list[dict] | None = None) -> list[dict]:
    """One dict per planted man: ``man, true_rule`` (the rule finds him on the true persons),
    ``linked`` ('raised' / 'possible' / 'missed'), ``parts`` (his records per linked person),
    ``links_between_parts`` (strongest scored link between each two parts) and ``why``."""
    p = rule_params(config, "harm_proximity")
    window, need = p["window_days"], p["min_households"]
    frame = mentions_frame(store)
    truth = _truth(world)
    true_frame = frame.join(truth, on="mention_id", how="left").with_columns(
        pl.coalesce("true_person", "person_id").alias("person_id")).drop("true_person")
    true_res = compute_all(true_frame, config)
    true_found = set(true_res["findings"].filter(pl.col("rule") == "harm_proximity")["person_id"].to_list())
    found = {r["person_id"] for r in store.rows("SELECT person_id FROM findings WHERE rule = 'harm_proximity'")}
    possible = [set(g["person_ids"]) for g in (possible_groups or []) if g["rule"] == "harm_proximity"]
    mine = frame.join(truth, on="mention_id").select("mention_id", "person_id", "true_person", "source", "event_key",
                                                     "date", "role", "household_key", "forename", "surname", "dob")
    out = []
    for scen in planted_men(world):
        man = scen["focus_person"]
        his = mine.filter(pl.col("true_person") == man).sort("date")
        parts = sorted(set(his["person_id"].to_list()))
        status = ("raised" if set(parts) & found else
                  "possible" if any(set(parts) & g for g in possible) else "missed")
        d = {"man": man, "true_rule": man in true_found, "linked": status, "records": his.height,
             "parts": {pid: [f"{r['mention_id']} {r['date']} {r['role']} {r['forename']} {r['surname']} {r['dob']} "
                             f"{r['household_key']}" for r in his.filter(pl.col("person_id") == pid).iter_rows(named=True)]
                       for pid in parts},
             "why": []}
        if man not in true_found:
            d["why"] = ["rule: " + w for w in _why_rule_misses(true_res, man, scen, window, need)]
        elif status == "missed" or len(parts) > 1:
            ids = his["mention_id"].to_list()
            store.register("_mm_ids", pl.DataFrame({"mention_id": ids}))
            try:
                e = store.df("SELECT mention_a, mention_b, match_probability FROM link_edges "
                             "WHERE mention_a IN (SELECT mention_id FROM _mm_ids) AND mention_b IN (SELECT mention_id FROM _mm_ids)")
            finally:
                store.unregister("_mm_ids")
            of = dict(his.select("mention_id", "person_id").iter_rows())
            best: dict[str, float] = {}
            for a, b, pr in e.iter_rows():
                pa, pb = of[a], of[b]
                if pa != pb:
                    k = "|".join(sorted((pa, pb)))
                    best[k] = max(best.get(k, 0.0), float(pr))
            d["links_between_parts"] = {k: round(v, 4) for k, v in best.items()}
            if status == "missed":
                d["why"] = [f"linkage: split into {len(parts)} persons; strongest links between parts "
                            f"{d['links_between_parts'] or 'none (never compared)'}"]
        out.append(d)
    return out


def main() -> None:
    world = Path(sys.argv[1])
    cfg = load_config()
    with Store(world.with_suffix(".duckdb")) as store:
        links = review_links(store, cfg)
        ps = sorted(set(links["person_a"].to_list()) | set(links["person_b"].to_list()))
        possible = possible_findings(store, cfg, links, held_apart(store, cfg, ps), review_threshold(cfg)) if ps else []
        for d in diagnose(world, store, cfg, possible):
            print(json.dumps(d, default=str, indent=1))


if __name__ == "__main__":
    main()
