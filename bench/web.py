"""Benchmark the web workspace: time to first byte of each page, N concurrent signed-in sessions.

    python3 bench/web.py --db STORE [--sessions 5] [--requests 300] [--max-seconds 60] [--workdir DIR]

STORE: a store with persons and analytics, e.g. the 1.1M-mention one ``bench/api.py --households
52000 --seed 11 --setup-only`` builds. The store is copied, an analyst user added, and ``intel
serve`` (API and workspace, one process) started on the copy. Each of --sessions threads signs
in through the forms (token, then purpose), keeps its own keep-alive connection and its own
session cookie, and requests pages until --requests are done or --max-seconds pass, one page
family at a time:

- search: /w/search with a forename, surname (a typo one time in three) and birth date from real
  records (the search and, for the first 20 results, agencies, last event and weakest link);
- person: /w/person/{id} (the header and the whole chronology as timeline and table);
- network: /w/person/{id}/network?hops=2;
- household: /w/household/{key} of a person's address;
- alerts: /w/alerts (the first 100 new alerts);
- pack: /w/person/{id}/pack (chronology, alerts; the page fetches its picture after it);
- pack-picture: /w/person/{id}/pack/network.svg (the pack's 1-hop network picture, Graphviz's
  layout; a person's first picture, unless the warm-up asked it);
- review: /w/review (the first 25 items of the clerical-review queue).

First byte: from sending the request to having the status line and headers (http.client's
getresponse()); the body is then read whole. Report: p50 / p95 / p99 / max of first byte and of
the whole response (ms), errors, throughput; against the target p95 first byte <= 300 ms.
One JSON object on stdout; progress on stderr. Run it under ``flock /tmp/bench.lock``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from access.users import add_user  # noqa: E402
from bench.api import free_port, log, pct, process_memory_gib, typo  # noqa: E402
from core.config import load_config  # noqa: E402
from core.store import Store  # noqa: E402

TARGET_MS = 300.0
CSRF = re.compile(r'name="csrf" value="([^"]*)"')


class Browser:
    """One signed-in session over one keep-alive connection (cookies kept by hand)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.conn = http.client.HTTPConnection(host, port, timeout=120)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, url: str, form: dict[str, str] | None = None) -> tuple[int, str, float, float]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        t = time.perf_counter()
        try:
            self.conn.request(method, url, body=body, headers=headers)
            r = self.conn.getresponse()
            first = time.perf_counter()
            text = r.read().decode("utf-8", "replace")
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
            raise
        done = time.perf_counter()
        for value in r.headers.get_all("set-cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return r.status, text, (first - t) * 1000, (done - t) * 1000

    def sign_in(self, token: str) -> None:
        _, page, _, _ = self.request("GET", "/w/signin")
        status, _, _, _ = self.request("POST", "/w/signin", {"csrf": CSRF.search(page).group(1), "token": token,
                                                             "next": "/w/"})
        assert status == 303, status
        _, page, _, _ = self.request("GET", "/w/purpose")
        status, _, _, _ = self.request("POST", "/w/purpose", {
            "csrf": CSRF.search(page).group(1), "case_ref": "BENCH-1", "reason": "benchmark of the workspace (synthetic data)",
            "next": "/w/"})
        assert status == 303, status


def run_load(base: str, token: str, urls: list[str], sessions: int, requests: int, max_seconds: float) -> dict:
    first_ms: list[float] = []
    whole_ms: list[float] = []
    errors: dict[str, int] = {}
    lock = threading.Lock()
    counter = iter(range(requests))
    host, port = urlsplit(base).hostname, urlsplit(base).port
    browsers = [Browser(host, port) for _ in range(sessions)]
    for b in browsers:
        b.sign_in(token)
    deadline = time.perf_counter() + max_seconds

    def worker(b: Browser) -> None:
        while time.perf_counter() < deadline:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            try:
                status, _, first, whole = b.request("GET", urls[i % len(urls)])
                key = str(status)
            except (OSError, http.client.HTTPException) as exc:
                key, first, whole = type(exc).__name__, None, None
            with lock:
                if first is not None:
                    first_ms.append(first)
                    whole_ms.append(whole)
                if key != "200":
                    errors[key] = errors.get(key, 0) + 1

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(b,)) for b in browsers]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t0
    for b in browsers:
        b.conn.close()
    return {"requests": len(first_ms), "errors": sum(errors.values()), "error_statuses": errors,
            "seconds": round(wall, 1), "throughput_rps": round(len(first_ms) / wall, 1),
            "first_byte_p50_ms": round(pct(first_ms, 0.50), 1), "first_byte_p95_ms": round(pct(first_ms, 0.95), 1),
            "first_byte_p99_ms": round(pct(first_ms, 0.99), 1),
            "first_byte_max_ms": round(max(first_ms), 1) if first_ms else None,
            "whole_p95_ms": round(pct(whole_ms, 0.95), 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--workdir", type=Path, default=Path("bench/out/web"))
    ap.add_argument("--sessions", type=int, default=5)
    ap.add_argument("--requests", type=int, default=300, help="per page family")
    ap.add_argument("--max-seconds", type=float, default=60.0, help="per page family")
    ap.add_argument("--persons", type=int, default=300)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--pages", default="search,person,network,household,alerts,pack,pack-picture,review")
    a = ap.parse_args()
    if not 1 <= a.sessions <= 50 or not 1 <= a.requests <= 100_000 or not 1 <= a.max_seconds <= 600:
        sys.exit("--sessions 1-50, --requests 1-100000, --max-seconds 1-600")
    a.workdir.mkdir(parents=True, exist_ok=True)
    load_start = [round(x, 2) for x in os.getloadavg()]
    db = a.workdir / "served.duckdb"
    for leftover in (Path(f"{db}.wal"), Path(f"{db}.audit-journal")):
        leftover.unlink(missing_ok=True)
    shutil.copy(a.db, db)

    rng = random.Random(a.seed)
    with Store(db) as store:
        token = add_user(store, f"webbench{int(time.time())}", "analyst", config=load_config())["token"]
        size = store.rows("SELECT (SELECT count(*) FROM mentions) AS mentions, "
                          "(SELECT count(DISTINCT person_id) FROM person_mentions) AS persons, "
                          "(SELECT count(*) FROM alerts) AS alerts")[0]
        pids = [r[0] for r in store.connection.execute(
            "SELECT DISTINCT person_id FROM person_mentions ORDER BY person_id").fetchall()]
        persons = rng.sample(pids, min(a.persons, len(pids)))
        households = [r[0] for r in store.connection.execute(
            "SELECT DISTINCT household_key FROM mentions WHERE household_key IS NOT NULL "
            f"USING SAMPLE reservoir({int(a.persons)} ROWS) REPEATABLE ({int(a.seed)})").fetchall()]
        recs = store.connection.execute(
            "SELECT forename, surname, dob FROM mentions WHERE forename IS NOT NULL AND surname IS NOT NULL "
            f"AND dob IS NOT NULL USING SAMPLE reservoir({int(a.persons)} ROWS) REPEATABLE ({int(a.seed)})").fetchall()
    searches = ["/w/search?" + urlencode({"go": 1, "forename": f, "surname": typo(s, rng) if rng.random() < 1 / 3 else s,
                                          "dob": d.isoformat()}) for f, s, d in recs]
    plans = {
        "search": searches,
        "person": [f"/w/person/{p}" for p in persons],
        "network": [f"/w/person/{p}/network?hops=2" for p in persons],
        "household": [f"/w/household/{quote(h, safe='')}" for h in households],
        "alerts": ["/w/alerts"],
        "pack": [f"/w/person/{p}/pack" for p in persons],
        "pack-picture": [f"/w/person/{p}/pack/network.svg" for p in persons],
        "review": ["/w/review"],
    }
    wanted = [p.strip() for p in a.pages.split(",") if p.strip()]
    if set(wanted) - set(plans):
        sys.exit(f"--pages: choose from {sorted(plans)}")
    log(f"store: {size}")

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "intel.cli", "serve", "--db", str(db), "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=sys.stderr)
    setup: dict = {}
    try:
        t = time.perf_counter()
        while True:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                c.request("GET", "/health")
                if c.getresponse().status == 200:
                    break
            except OSError:
                pass
            if server.poll() is not None or time.perf_counter() - t > 300:
                sys.exit("the server did not start")
            time.sleep(0.2)
        setup["server_start_s"] = round(time.perf_counter() - t, 1)
        # the review queue is ranked in the background at start (api/review_cache.py): wait for it,
        # so its one-off ranking is setup, not load on the pages measured first
        while True:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/health")
            queue = json.loads(c.getresponse().read()).get("review_queue")
            if queue is None or queue.get("state") == "current" or time.perf_counter() - t > 900:
                break
            time.sleep(1)
        if queue is not None:
            setup["review_queue_ranked_s"] = round(time.perf_counter() - t, 1)
            setup["review_queue_build_s"] = queue.get("last_build_s")
        # so is the alert queue, then the open lens's words (api/alert_cache.py): setup as well
        while True:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/health")
            kept = json.loads(c.getresponse().read()).get("alert_queue")
            if kept is None or kept.get("state") == "current" and not kept.get("warming") \
                    or kept.get("state") == "off" or time.perf_counter() - t > 900:
                break
            time.sleep(1)
        if kept is not None:
            setup["alert_queue_ready_s"] = round(time.perf_counter() - t, 1)
            setup["alert_queue_build_s"] = kept.get("last_build_s")
            setup["alert_queue_words"] = kept.get("words")
        setup["server_memory_after_start"] = process_memory_gib(server.pid)
        results = {}
        for name in wanted:
            log(f"warming up {name} ...")
            run_load(base, token, plans[name], min(2, a.sessions), min(20, a.requests), 30)
            log(f"measuring {name}: {a.sessions} sessions, up to {a.requests} requests or {a.max_seconds} s ...")
            r = run_load(base, token, plans[name], a.sessions, a.requests, a.max_seconds)
            r["meets_target"] = r["first_byte_p95_ms"] <= TARGET_MS and r["errors"] == 0
            results[name] = r
            log(f"{name}: {json.dumps(r)}")
        setup["server_memory_at_end"] = process_memory_gib(server.pid)
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
    print(json.dumps({
        "data": size, "sessions": a.sessions, "requests_per_page": a.requests, "max_seconds": a.max_seconds,
        "target_first_byte_p95_ms": TARGET_MS,
        "machine": {"cpus": os.cpu_count(), "loadavg_at_start": load_start,
                    "loadavg_at_end": [round(x, 2) for x in os.getloadavg()]},
        "setup": setup, "results": results, "all_targets_met": all(r["meets_target"] for r in results.values()),
    }, indent=2))


if __name__ == "__main__":
    main()
