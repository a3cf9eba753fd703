"""Benchmark the HTTP API under load: a real server on 127.0.0.1, N concurrent clients.

    python3 bench/api.py [--db STORE | --households 52000 --seed 11] [--workdir DIR]
                         [--clients 20] [--requests 2000] [--max-seconds 60]

1. Setup (timed, reported, not the measurement). Either ``--db``: a copy of an existing store
   (e.g. the base store bench/nightly.py builds with Splink), or a store built here: a synthetic
   world (fixtures.world, --households), its base drop ingested (ingest.drops), persons taken
   from the world's truth file (an oracle linkage: the persons the linkage aims at, so the
   benchmark does not wait for Splink; person and household sizes are the real ones), and the
   analytics run (households, findings). Cached in --workdir.
2. An analyst user is added to the copy, and ``intel serve`` started on it in a subprocess (it is
   ready when it has built its serving snapshot; the build time and the server's memory after
   start and at the end are reported).
3. The measurement: for each of chronology (GET /persons/{id}/chronology), 2-hop network JSON
   (GET /persons/{id}/network?hops=2) and search (GET /persons?forename&surname&dob, from real
   records with a typo in the surname one time in three), --clients threads each with its own
   keep-alive connection send requests until --requests are done or --max-seconds pass.
   Persons are picked at random (seeded) among those with a record. ``floor``: GET /health
   (no store, no auth, no audit) at the same concurrency - what the framework, the sockets and
   this load generator cost on this machine, under every other figure.
4. Report: p50 / p95 / p99 / max latency (ms, client side), throughput (requests/s), errors
   (any status but 200) per endpoint, against the targets (p95: chronology 50 ms, network
   200 ms, search 100 ms), and the CPU time per request of the server process and of this
   client process (the load generator shares the machine: on a small one its own CPU is part of
   what limits throughput; CPU per request also depends less on other jobs than latency does).
   One JSON object on stdout; progress on stderr.
"""

from __future__ import annotations

import argparse
import csv
import http.client
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
import polars as pl  # noqa: E402
from core.config import load_config
from core.person_ids import format_person_id

CONFIG = load_config()

TARGETS_MS = {"chronology": 50.0, "network": 200.0, "search": 100.0}
# GET /health (no store, no auth, no audit): what the framework, the sockets and this load
# generator cost at the same concurrency - the floor under every other figure on this machine
FLOOR = "floor"

PURPOSE = "benchmark of the API (synthetic data)"


def log(msg: str) -> None:
    print(f"bench-api: {msg}", file=sys.stderr, flush=True)


# -- setup ---------------------------------------------------------------------------------------

def build_store(workdir: Path, households: int, seed: int, world: Path | None = None) -> tuple[Path, dict]:
    """A store of a synthetic world with oracle persons and analytics, cached in workdir."""
    from core.store import Store

    db = workdir / (f"api-{world.name}.duckdb" if world else f"api-{households}-{seed}.duckdb")
    if db.exists():
        log(f"reusing {db}")
        return db, {"reused": True}
    timings: dict = {"world": str(world) if world else None}
    world = world or workdir / f"world-{households}-{seed}"
    if not (world / "truth" / "truth.csv").exists():
        from fixtures.world import generate_world

        t = time.perf_counter()
        log(f"generating a world of {households} households ...")
        generate_world(world, households=households, seed=seed)
        timings["generate_s"] = round(time.perf_counter() - t, 1)
    tmp = db.with_suffix(".building")
    tmp.unlink(missing_ok=True)
    with Store(tmp) as store:
        from findings.analytics import run_analytics
        from ingest.drops import ingest_drop

        t = time.perf_counter()
        log("ingesting ...")
        ingest_drop(store, world / "drop")
        timings["ingest_s"] = round(time.perf_counter() - t, 1)
        t = time.perf_counter()
        log("persons from the truth file (oracle linkage) ...")
        truth = pl.read_csv(world / "truth" / "truth.csv", infer_schema_length=0).select(
            (pl.col("source") + ":" + pl.col("record_id")).alias("mention_id"), pl.col("person"))
        people = truth.select("person").unique().sort("person").with_row_index("n", offset=1).with_columns(
            pl.col("n").map_elements(format_person_id, return_dtype=pl.Utf8).alias("person_id"))
        store.register("_truth", truth.join(people, on="person"))
        now = datetime.now()
        with store.transaction():
            store.execute("INSERT INTO person_mentions SELECT m.mention_id, t.person_id, 1.0, FALSE "
                          "FROM mentions m JOIN _truth t USING (mention_id)")
            store.execute("INSERT INTO persons SELECT DISTINCT person_id, 'active', NULL, ?, 'bench-oracle' "
                          "FROM person_mentions", [now])
        store.unregister("_truth")
        timings["persons_s"] = round(time.perf_counter() - t, 1)
        t = time.perf_counter()
        log("analytics ...")
        run_analytics(store, config=CONFIG)
        timings["analytics_s"] = round(time.perf_counter() - t, 1)
    tmp.rename(db)
    return db, timings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q * len(ordered) + 0.5)) - 1))]


def typo(name: str, rng: random.Random) -> str:
    if len(name) < 4:
        return name
    i = rng.randrange(1, len(name) - 1)
    return name[:i] + name[i + 1] + name[i] + name[i + 2:]


def process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a process (Linux /proc), None where unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def process_memory_gib(pid: int) -> dict[str, float] | None:
    """Resident and peak resident memory of a process (Linux /proc), None where unknown."""
    try:
        status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
        kib = lambda key: int(status[key].split()[0])  # noqa: E731
        return {"rss_gib": round(kib("VmRSS") / 2**20, 2), "peak_rss_gib": round(kib("VmHWM") / 2**20, 2)}
    except (OSError, ValueError, KeyError):
        return None


def load(base: str, token: str, urls: list[str], clients: int, requests: int, max_seconds: float) -> dict:
    lat: list[float] = []
    errors: dict[str, int] = {}
    lock = threading.Lock()
    counter = iter(range(requests))
    deadline = time.perf_counter() + max_seconds
    headers = {"Authorization": f"Bearer {token}", "X-Purpose": PURPOSE}

    host, port = urlsplit(base).hostname, urlsplit(base).port

    def worker() -> None:
        # the standard library's client: about a third of httpx's CPU per request, which on a
        # small machine is CPU the server does not get (the load generator shares the cores)
        conn = http.client.HTTPConnection(host, port, timeout=60)
        try:
            while time.perf_counter() < deadline:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                t = time.perf_counter()
                try:
                    conn.request("GET", urls[i % len(urls)], headers=headers)
                    r = conn.getresponse()
                    r.read()   # all of it: the connection is kept alive for the next request
                    status = str(r.status)
                except (OSError, http.client.HTTPException) as exc:
                    status = type(exc).__name__
                    conn.close()
                    conn = http.client.HTTPConnection(host, port, timeout=60)
                ms = (time.perf_counter() - t) * 1000
                with lock:
                    lat.append(ms)
                    if status != "200":
                        errors[status] = errors.get(status, 0) + 1
        finally:
            conn.close()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t0
    return {"requests": len(lat), "errors": sum(errors.values()), "error_statuses": errors,
            "seconds": round(wall, 2), "throughput_rps": round(len(lat) / wall, 1),
            "p50_ms": round(pct(lat, 0.50), 1), "p95_ms": round(pct(lat, 0.95), 1),
            "p99_ms": round(pct(lat, 0.99), 1), "max_ms": round(max(lat), 1) if lat else None,
            "mean_ms": round(statistics.fmean(lat), 1) if lat else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, help="benchmark a copy of this store instead of building one")
    ap.add_argument("--world", type=Path, help="a world already generated by fixtures.world (its drop/ and truth/)")
    ap.add_argument("--setup-only", action="store_true", help="build (or find) the store and stop")
    ap.add_argument("--households", type=int, default=52_000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--workdir", type=Path, default=Path("bench/out/api"))
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--requests", type=int, default=2000, help="per endpoint")
    ap.add_argument("--max-seconds", type=float, default=60.0, help="per endpoint")
    ap.add_argument("--persons", type=int, default=500, help="distinct persons / queries sampled")
    ap.add_argument("--endpoints", default="chronology,network,search,floor",
                    help="comma list of chronology, network, search, floor (GET /health, the framework's floor)")
    a = ap.parse_args()
    if not 1 <= a.clients <= 200 or not 1 <= a.requests <= 100_000 or not 1 <= a.max_seconds <= 600:
        sys.exit("--clients 1-200, --requests 1-100000, --max-seconds 1-600")
    a.workdir.mkdir(parents=True, exist_ok=True)

    load_start = [round(x, 2) for x in os.getloadavg()]
    t = time.perf_counter()
    if a.db:
        source, setup = a.db, {"from": str(a.db)}
    else:
        source, setup = build_store(a.workdir, a.households, a.seed, a.world)
    if a.setup_only:
        print(json.dumps({"store": str(source), "setup": setup}))
        return
    db = a.workdir / "served.duckdb"
    for leftover in (Path(f"{db}.wal"), Path(f"{db}.audit-journal")):
        leftover.unlink(missing_ok=True)   # a previous run's logs would not match the fresh copy
    shutil.copy(source, db)
    setup["setup_s"] = round(time.perf_counter() - t, 1)

    from core.store import Store
    from access.users import add_user

    rng = random.Random(a.seed)
    with Store(db) as store:
        token = add_user(store, f"bench{int(time.time())}", "analyst", config=CONFIG)["token"]
        size = store.rows("SELECT (SELECT count(*) FROM mentions) AS mentions, "
                          "(SELECT count(DISTINCT person_id) FROM person_mentions) AS persons, "
                          "(SELECT count(DISTINCT household_key) FROM mentions) AS household_keys, "
                          "(SELECT count(*) FROM events) AS events")[0]
        pids = [r[0] for r in store.connection.execute(
            "SELECT DISTINCT person_id FROM person_mentions ORDER BY person_id").fetchall()]
        persons = rng.sample(pids, min(a.persons, len(pids)))
        recs = store.connection.execute(
            "SELECT forename, surname, dob FROM mentions WHERE forename IS NOT NULL AND surname IS NOT NULL "
            f"AND dob IS NOT NULL USING SAMPLE reservoir({int(a.persons)} ROWS) REPEATABLE ({int(a.seed)})").fetchall()
    searches = []
    for f, s, d in recs:
        s = typo(s, rng) if rng.random() < 1 / 3 else s
        searches.append(str(httpx.URL("/persons", params={"forename": f, "surname": s, "dob": d.isoformat()})))
    log(f"store: {size}")

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "intel.cli", "serve", "--db", str(db), "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=sys.stderr)
    try:
        t = time.perf_counter()
        while True:
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.perf_counter() - t > 180:
                sys.exit("the server did not start")
            time.sleep(0.2)
        setup["server_start_s"] = round(time.perf_counter() - t, 1)
        setup["snapshot"] = httpx.get(base + "/health", timeout=5).json().get("snapshot")
        setup["server_memory_after_start"] = process_memory_gib(server.pid)
        plans = {
            "chronology": [f"/persons/{p}/chronology" for p in persons],
            "network": [f"/persons/{p}/network?hops=2" for p in persons],
            "search": searches,
            FLOOR: ["/health"],
        }
        wanted = [e.strip() for e in a.endpoints.split(",") if e.strip()]
        unknown = sorted(set(wanted) - set(plans))
        if unknown:
            sys.exit(f"--endpoints: unknown {unknown}; choose from {sorted(plans)}")
        results = {}
        for name, urls in ((n, plans[n]) for n in wanted):
            log(f"warming up {name} ...")
            load(base, token, urls, min(4, a.clients), min(40, a.requests), 30)
            log(f"measuring {name}: {a.clients} clients, up to {a.requests} requests or {a.max_seconds} s ...")
            server_cpu, client_cpu = process_cpu_s(server.pid), os.times()
            r = load(base, token, urls, a.clients, a.requests, a.max_seconds)
            server_cpu_end, client_cpu_end = process_cpu_s(server.pid), os.times()
            if server_cpu is not None and server_cpu_end is not None and r["requests"]:
                r["server_cpu_ms_per_request"] = round((server_cpu_end - server_cpu) * 1000 / r["requests"], 2)
            if r["requests"]:
                used = (client_cpu_end.user + client_cpu_end.system) - (client_cpu.user + client_cpu.system)
                r["client_cpu_ms_per_request"] = round(used * 1000 / r["requests"], 2)
            if name in TARGETS_MS:
                r["target_p95_ms"] = TARGETS_MS[name]
                r["meets_target"] = r["p95_ms"] <= TARGETS_MS[name] and r["errors"] == 0
            results[name] = r
            log(f"{name}: {json.dumps(r)}")
        setup["server_memory_at_end"] = process_memory_gib(server.pid)
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
    print(json.dumps({
        "data": size, "clients": a.clients, "requests_per_endpoint": a.requests, "max_seconds": a.max_seconds,
        "machine": {"cpus": os.cpu_count(), "loadavg_at_start": load_start,
                    "loadavg_at_end": [round(x, 2) for x in os.getloadavg()]},
        "setup": setup, "results": results,
        "all_targets_met": all(r["meets_target"] for n, r in results.items() if n in TARGETS_MS),
    }, indent=2))


if __name__ == "__main__":
    main()
