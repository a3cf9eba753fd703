"""CPU a chronology and an audit entry cost in-process: a benchmark that machine load disturbs
less than the HTTP benchmark's latencies (used for issue 12's before/after, docs/benchmarks.md).

    python3 bench/chronology_cpu.py STORE [--persons 400] [--work /tmp/chron-cpu.duckdb]

Copies STORE (any store, e.g. the one bench/api.py builds), builds the serving snapshot's
chronology reader, and reports the best of three of: CPU ms per ``chronology()`` from the snapshot
as an analyst reads it (JSON) and as an export without health clearance (the MARAC view), over
the first ``--persons`` active persons; and CPU ms per audit entry written four at a time
(``AuditWriter.write_many``, straight to DuckDB). Run it from each tree to compare (before and
after a change), alternating, in one job. One JSON object on stdout.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from access.audit import AuditWriter  # noqa: E402
from core.config import load_config  # noqa: E402
from core.store import Store  # noqa: E402
from views.chronology import chronology  # noqa: E402
from views.chronology_sources import SnapshotReader  # noqa: E402


def best_of(n: int, fn) -> float:
    best = None
    for _ in range(n):
        t = time.process_time()
        count = fn()
        dt = (time.process_time() - t) / count * 1000
        best = dt if best is None else min(best, dt)
    return round(best, 4)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("store", type=Path)
    ap.add_argument("--persons", type=int, default=400)
    ap.add_argument("--work", type=Path, default=Path("/tmp/chron-cpu.duckdb"))
    a = ap.parse_args()
    shutil.copy(a.store, a.work)
    cfg = load_config()
    out = {"store": str(a.store)}
    with Store(a.work) as s:
        reader = SnapshotReader.build(s)
        persons = [r["person_id"] for r in s.rows(
            "SELECT person_id FROM persons WHERE status = 'active' ORDER BY person_id LIMIT ?", [a.persons])]
        for label, kw in (("chronology_json_ms", {}), ("chronology_marac_export_ms",
                                                       {"export": True, "health_clearance": False})):
            out[label] = best_of(3, lambda kw=kw: [chronology(s, person_id=p, config=cfg, reader=reader, **kw)
                                                   for p in persons] and len(persons))
        writer = AuditWriter(s, cfg)
        entry = dict(user_name="bench", role="analyst", method="GET", endpoint="/x", path="/x", status=200,
                     subject_kind="person", subject_id="P1", purpose="benchmark")
        out["audit_entry_ms"] = best_of(3, lambda: [writer.write_many(s, [entry] * 4) for _ in range(300)] and 1200)
        writer.close()
    for f in a.work.parent.glob(a.work.name + "*"):
        f.unlink()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
