"""Serving while the night runs: a real server on 127.0.0.1, a nightly run started by POST /runs,
and concurrent clients reading and writing during it. Requests see the last complete state until
the run commits (never half a run); acknowledgements, decisions and audit entries made during the
run are all there afterwards."""

from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import httpx
import uvicorn

from access.audit_verify import verify
from tests.api.conftest import ENGINE, PURPOSE

RUN_PAUSE_S = 3.0  # the link stage sleeps this long inside the run's transaction


def _slow(fn):
    def wrapped(*args, **kw):
        time.sleep(RUN_PAUSE_S)
        return fn(*args, **kw)
    return wrapped


SLOW = SimpleNamespace(load_or_train=ENGINE.load_or_train, score_all=_slow(ENGINE.score_all),
                       score_mentions=_slow(ENGINE.score_mentions))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_requests_during_a_nightly_run(world, db_copy):
    from api.app import create_app

    app = create_app(db_copy, run_options={"link_engine": SLOW})
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    tok = world["tokens"]
    h = {r: {"Authorization": f"Bearer {t}", **PURPOSE} for r, t in tok.items()}
    sarah = world["person"]["police:P1"]
    try:
        for _ in range(100):
            if server.started:
                break
            time.sleep(0.05)
        with httpx.Client(base_url=base, timeout=30) as c:
            before = c.get(f"/persons/{sarah}/chronology", headers=h["analyst"]).json()["events"]["total"]
            alerts_before = c.get("/alerts", headers=h["analyst"]).json()["items"]
            alert = alerts_before[0]["alert_id"]
            audit_before = len(_audit(app))

            r = c.post("/runs", headers=h["admin"], json={"drop_dir": "drop2"})
            assert r.status_code == 202, r.text
            run_id = r.json()["run_id"]
            assert c.post("/runs", headers=h["admin"], json={"drop_dir": "drop2"}).status_code == 409

            seen, statuses, during = [], [], 0
            lock = threading.Lock()

            def reader(i: int) -> None:
                nonlocal during
                with httpx.Client(base_url=base, timeout=30) as cc:
                    for j in range(40):
                        url = (f"/persons/{sarah}/chronology", f"/persons/{sarah}/network",
                               "/persons?surname=Hughes&dob=1991-07-14", "/alerts")[(i + j) % 4]
                        resp = cc.get(url, headers=h["analyst"])
                        # still uncommitted after the answer came: the answer predates the commit
                        running = _run_status(app, run_id) == "running"
                        with lock:
                            statuses.append(resp.status_code)
                            if "chronology" in url:
                                seen.append((running, resp.json()["events"]["total"]))
                            during += running
                        if app.state.runs.current_run is None and j > 4:
                            return

            with ThreadPoolExecutor(8) as pool:
                futures = [pool.submit(reader, i) for i in range(8)]
                time.sleep(0.3)
                assert app.state.runs.current_run == run_id
                assert c.get(f"/runs/{run_id}", headers=h["admin"]).json()["status"] in ("running", "starting")
                ack = c.post(f"/alerts/{alert}/acknowledge", headers=h["analyst"], json={"reason": "during the run"})
                assert ack.status_code == 200 and ack.json()["status"] == "acknowledged"
                dec = c.post("/links/decisions", headers=h["analyst"],
                             json={"mention_a": "police:P7", "mention_b": "social_care:S2", "decision": "same",
                                   "reason": "same NI number"})
                assert dec.status_code == 202 and dec.json()["status"] == "queued", dec.text
                queue_id = dec.json()["queue_id"]
                for f in futures:
                    f.result()
            app.state.runs.wait(60)

            assert all(s == 200 for s in statuses), statuses
            assert during >= 8, f"only {during} requests overlapped the run"
            after = c.get(f"/persons/{sarah}/chronology", headers=h["analyst"]).json()["events"]["total"]
            assert after > before
            # during the run every chronology is the last complete state, never half a run
            assert {t for running, t in seen if running} == {before}
            assert {t for _, t in seen} <= {before, after}
            run = c.get(f"/runs/{run_id}", headers=h["admin"]).json()
            assert run["status"] == "completed", run
            # what users wrote during the run is all there
            got = {a["alert_id"]: a for a in c.get("/alerts?status=all&limit=500", headers=h["analyst"]).json()["items"]}
            assert [x["reason"] for x in got[alert]["history"]] == ["during the run"]
            # acknowledged, unless the run brought it new evidence after the acknowledgement (then new again)
            assert got[alert]["status"] == ("new" if got[alert]["updates"] else "acknowledged"), got[alert]
            outcome = c.get(f"/links/decisions/queued/{queue_id}", headers=h["analyst"]).json()
            assert outcome["outcome"] == "applied" and outcome["decision_id"], outcome
            p7 = c.get(f"/persons/{world['person']['police:P7']}", headers=h["analyst"])
            s2 = c.get(f"/persons/{world['person']['social_care:S2']}", headers=h["analyst"])
            assert {p7.status_code, s2.status_code} == {200, 307}
            entries = _audit(app)
            assert len(entries) - audit_before >= len(statuses) + 4
            session = app.state.store.session()
            try:
                assert verify(session)["ok"]
            finally:
                session.close()
    finally:
        server.should_exit = True
        thread.join(10)
        app.state.audit_queue.close()   # moves the journaled entries in while the store is open
        app.state.store.close()


def _audit(app):
    app.state.audit_queue.sync()   # journaled entries reach audit_log in batches
    s = app.state.store.session()
    try:
        return s.rows("SELECT seq, status FROM audit_log ORDER BY seq")
    finally:
        s.close()


def test_cli_cannot_open_the_store_the_server_holds(world, db_copy):
    import subprocess
    import sys

    from api.app import create_app

    app = create_app(db_copy)
    try:
        for args in (["nightly", str(world["drop2"])], ["users", "add", "eve", "--role", "admin"]):
            r = subprocess.run([sys.executable, "-m", "intel.cli", *args, "--db", str(db_copy)],
                               capture_output=True, text=True, timeout=120)
            assert r.returncode == 2 and "cannot open the store" in r.stderr, (args, r.stderr)
    finally:
        app.state.audit_queue.close()   # moves the journaled entries in while the store is open
        app.state.store.close()


def _run_status(app, run_id):
    s = app.state.store.session()
    try:
        rows = s.rows("SELECT status FROM runs WHERE run_id = ?", [run_id])
        return rows[0]["status"] if rows else "running"
    finally:
        s.close()
