"""Before and after: run the same benchmark commands on two git revisions, interleaved, and
report each command's wall time on both and their ratio (after / before).

    python3 bench/before_after.py REV_BEFORE REV_AFTER [--rounds 2] [--households 5000]

For a change that should not move performance (a restructure), on a machine whose speed drifts:
each revision is checked out into its own temporary worktree (its own bench/ and code), and the
commands run A, B, A, B ... so drift hits both alike; the median of the rounds is compared. The
commands are the repository's own benchmarks at a size that takes minutes, not hours:
ingest, analytics over a generated world and a nightly run with chronologies. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def commands(households: int, work: Path) -> dict[str, list[str]]:
    return {
        "ingest": ["-m", "bench.ingest", "--sizes", str(households)],
        "analytics (true persons)": ["-m", "bench.analytics", "validate", "--households", str(households),
                                     "--persons", "truth", "--workdir", str(work / "analytics")],
        "nightly + chronologies": ["-m", "bench.nightly", "--households", str(households), "--nights", "2",
                                   "--chronologies", "50", "--drop-rows", "1000", "--workdir", str(work / "nightly")],
    }


def timed(tree: Path, argv: list[str]) -> float:
    started = time.perf_counter()
    # each tree imports its own code (not an installed copy): its root first on the path
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run([sys.executable, *argv], cwd=tree, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed in {tree}:\n{done.stderr[-2000:]}")
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--households", type=int, default=5000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="before-after-") as tmp:
        trees = {}
        for label, rev in (("before", args.before), ("after", args.after)):
            trees[label] = Path(tmp) / label
            subprocess.run(["git", "worktree", "add", "--detach", str(trees[label]), rev], cwd=ROOT, check=True,
                           capture_output=True)
        try:
            # a warm-up round per tree (generates and caches the worlds and base stores), not measured
            for label, tree in trees.items():
                for argv in commands(args.households, Path(tmp) / f"work-{label}").values():
                    timed(tree, argv)
            seconds: dict[str, dict[str, list[float]]] = {}
            for _ in range(args.rounds):
                for label, tree in trees.items():
                    for name, argv in commands(args.households, Path(tmp) / f"work-{label}").items():
                        seconds.setdefault(name, {}).setdefault(label, []).append(round(timed(tree, argv), 2))
                        print(f"{name} {label}: {seconds[name][label][-1]} s", file=sys.stderr, flush=True)
        finally:
            for tree in trees.values():
                subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, capture_output=True)
    report = {name: {**runs, "ratio_after_over_before": round(statistics.median(runs["after"])
                                                             / statistics.median(runs["before"]), 3)}
              for name, runs in seconds.items()}
    print(json.dumps({"before": args.before, "after": args.after, "households": args.households,
                      "rounds": args.rounds, "seconds": report}, indent=2))


if __name__ == "__main__":
    main()
