"""What words instead of codes cost: the serving snapshot's network part built with and without
its findings in words (findings.describe.in_words), interleaved in one run, on an existing store.

    python -m bench.words --db /path/to/store.duckdb [--rounds 3]

Opens the store read-only. Each round builds ``views.network_memory.NetworkSnapshot`` twice: as
served (every finding's explanation in words, once per build) and with the words left out (the
explanations as stored); prints the seconds of each, the ratio of the medians, how many findings
were worded and the load average seen, as one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import views.network_memory as network_memory
from core.store import Store


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    worded = network_memory.in_words
    times: dict[str, list[float]] = {"with words": [], "without words": []}
    with Store(a.db, read_only=True) as store:
        findings = store.scalar("SELECT count(*) FROM findings WHERE person_id IS NOT NULL")
        mentions = store.scalar("SELECT count(*) FROM mentions")
        for _ in range(a.rounds):
            for label, fn in (("with words", worded), ("without words", lambda s, f, lens=None: f)):
                network_memory.in_words = fn
                started = time.perf_counter()
                network_memory.NetworkSnapshot.build(store)
                times[label].append(round(time.perf_counter() - started, 2))
        network_memory.in_words = worded
    med = {k: statistics.median(v) for k, v in times.items()}
    print(json.dumps({"store": str(a.db), "mentions": mentions, "findings_worded": findings, "seconds": times,
                      "median_seconds": med, "ratio_with_to_without": round(med["with words"] / med["without words"], 2),
                      "load_average": os.getloadavg()}, indent=1))


if __name__ == "__main__":
    main()
