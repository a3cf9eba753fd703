"""The triaged queue over a first load and the nights after it (issue 15's targets).

    python -m bench.alert_queue [--households 1000] [--seed 7] [--nights 3] [--work /tmp/bench-queue]

Generates a world with its last ``--nights`` days held back as nightly drops, runs the first load
(the baseline) and each night through ``findings.runs.run_nightly`` (ingest, link, analytics,
alerts), and reports per night the new and updated alerts, the most new alerts one person has of
one rule that night, and at the end how many (rule, person) pairs have more than one open alert.
"""

from __future__ import annotations

import argparse
import json
import shutil
from collections import Counter
from pathlib import Path

from core.config import load_config
from core.store import Store
from findings.alerts import list_alerts
from findings.runs import run_nightly
from fixtures.world import generate_world


def run(households: int, seed: int, nights: int, work: Path) -> dict:
    w = work
    shutil.rmtree(w, ignore_errors=True)
    generate_world(w / "world", households=households, seed=seed, nightly_days=nights)
    cfg = load_config()
    s = Store(w / 'intel.duckdb', create=True)
    base = run_nightly(s, w / 'world' / 'drop', config=cfg)
    out = {"base": {k: base.get(k) for k in ("new_alerts", "baseline_alerts", "updated_alerts")}}
    for night in sorted((w / 'world' / 'nightly').iterdir()):
        r = run_nightly(s, night, config=cfg)
        new = [a for a in list_alerts(s, status="new")]
        out[night.name] = {"new_alerts": r["new_alerts"], "updated_alerts": r["updated_alerts"],
                           "new_by_rule": r["new_alerts_by_rule"],
                           "max_new_per_person_rule": max(Counter((a["rule"], a["person_id"]) for a in new).values(), default=0)}
    opened = Counter((a["rule"], a["person_id"]) for a in list_alerts(s, status="open") if a["person_id"])
    out["open_person_rule_pairs"] = len(opened)
    out["pairs_with_two_open"] = sum(1 for v in opened.values() if v > 1)
    s.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--nights", type=int, default=3)
    ap.add_argument("--work", type=Path, default=Path("/tmp/bench-queue"))
    a = ap.parse_args()
    print(json.dumps(run(a.households, a.seed, a.nights, a.work), indent=1))


if __name__ == "__main__":
    main()
