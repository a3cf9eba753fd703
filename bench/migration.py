"""How long the schema version 2 migration (person ids P00000042 -> MI-00000042W) takes on a store.

    python3 -m bench.migration STORE [--workdir DIR]

Copies STORE (made by an older mash-intel: schema version 1, or unstamped) into DIR, opens the
copy for writing (which migrates it, core/migrations.py), and prints one JSON object: the rows of
the tables it rewrites, the seconds the open took and the peak resident memory. The original is
never opened.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.store import Store  # noqa: E402

COUNTED = ("persons", "person_mentions", "person_history", "findings", "alerts", "network_mentions",
           "network_event_people", "network_household_people", "notification_counts", "search_index")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("store", type=Path)
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(dir=args.workdir))
    copy = work / "migrate.duckdb"
    t = time.perf_counter()
    shutil.copy(args.store, copy)
    copied = time.perf_counter() - t
    t = time.perf_counter()
    with Store(copy, create=False) as store:
        seconds = time.perf_counter() - t
        rows = {name: store.scalar(f"SELECT count(*) FROM {name}") for name in COUNTED}
        upgraded = store.upgraded
        left = store.scalar("SELECT count(*) FROM person_mentions WHERE NOT starts_with(person_id, 'MI-')")
    shutil.rmtree(work)
    print(json.dumps({"store": str(args.store), "rows": rows, "upgraded": upgraded, "old_ids_left": left,
                      "copy_s": round(copied, 1), "migration_s": round(seconds, 1),
                      "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}, indent=1))


if __name__ == "__main__":
    main()
