"""The nightly run: ingest -> incremental link -> analytics -> alerts, as one unit of work.

**Atomic and crash-safe.** Every write of the four stages happens inside ONE
``store.transaction()`` (each stage's own transaction joins it; Splink runs its SQL on the
store's connection inside it). Readers on other cursors (the API) keep seeing the last complete
state until the final COMMIT, and never a half-finished run. A run killed at any point commits
nothing (DuckDB writes a transaction to its WAL only at commit), so the store still serves the
last complete state; running it again does the whole run. The ``runs`` row is written
'running' in its own small transaction first (so a monitor sees it), set 'completed' inside the
run's transaction, 'failed' after a rollback, and a row left 'running' by a killed run is set
'abandoned' by the next run.

**One at a time.** A lock file beside the store (``<store>.run.lock``) is held with ``flock``
for the whole run and names its holder (pid, host, run id, start time). The kernel releases
the lock when the holder dies, so a dead holder's lock is stale and is taken over (reported).
A second run while one holds it is refused with Conflict naming the holder.

**Idempotent.** A drop already ingested is skipped file by file (same sha256), linking finds
nothing new, analytics recomputes the same findings and alerts raise nothing new.

**Fault injection** (for the crash tests): ``fault_after_stage`` or ``$INTEL_FAULT_AFTER`` names
a stage (ingest, link, analytics, alerts); after it the run raises, or with
``$INTEL_FAULT_MODE=kill`` the process kills itself with SIGKILL mid-transaction.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import sys
import time
import traceback
import uuid
from datetime import datetime
from pathlib import Path
from collections.abc import Mapping
from typing import Any, Callable

from core.errors import Conflict, IntelError, NotFound
from core.store import Store
from findings.alert_raising import raise_alerts
from findings.possible_alerts import sync_possible_alerts
from findings.analytics import run_analytics
from ingest.drops import ingest_drop
from linkage.run import link

STAGES = ("ingest", "link", "analytics", "alerts")


class InjectedFault(RuntimeError):
    """Raised after a stage when a fault is injected (tests of crash safety)."""


def _now() -> datetime:
    return datetime.now().replace(microsecond=0)


def _log(message: str) -> None:
    print(f"nightly: {message}", file=sys.stderr, flush=True)


# --- the lock ---------------------------------------------------------------------------------

def lock_path(store: Store) -> Path:
    return Path(f"{store.path}.run.lock")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunLock:
    """An exclusive flock on ``<store>.run.lock`` holding JSON about its holder."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None
        self.stale: dict[str, Any] | None = None

    def _read(self) -> dict[str, Any] | None:
        try:
            text = self.path.read_text()
            return json.loads(text) if text.strip() else None
        except (OSError, ValueError):
            return None

    def acquire(self, run_id: str) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            holder = self._read() or {}
            raise Conflict(
                f"another nightly run is in progress (run {holder.get('run_id', '?')}, pid {holder.get('pid', '?')} "
                f"on {holder.get('host', '?')}, started {holder.get('started_at', '?')}); it holds {self.path}. "
                "Wait for it to finish; this run did nothing.") from None
        previous = self._read()
        if previous and previous.get("pid"):
            # we got the lock, so whoever wrote this is gone (the kernel released its lock)
            alive = previous.get("host") == socket.gethostname() and _pid_alive(int(previous["pid"]))
            self.stale = {**previous, "holder_alive": alive}
        holder = {"run_id": run_id, "pid": os.getpid(), "host": socket.gethostname(), "started_at": _now().isoformat()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        os.fsync(fd)
        self.fd = fd

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            os.ftruncate(self.fd, 0)
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            os.close(self.fd)
            self.fd = None


# --- the run ----------------------------------------------------------------------------------

def _fault(stage: str, wanted: str | None, on_stage: Callable[[str], None] | None = None) -> None:
    if on_stage is not None:
        on_stage(stage)
    if wanted != stage:
        return
    if os.environ.get("INTEL_FAULT_MODE") == "kill":
        _log(f"fault injected after {stage}: killing this process (SIGKILL)")
        os.kill(os.getpid(), signal.SIGKILL)
    raise InjectedFault(f"fault injected after stage {stage!r}")


def _update_run(store: Store, run_id: str, **fields: Any) -> None:
    sets = ", ".join(f"{k} = ?" for k in fields)
    store.execute(f"UPDATE runs SET {sets} WHERE run_id = ?", [*fields.values(), run_id])


def run_nightly(
    store: Store,
    drop_dir: str | Path,
    *,
    config: Mapping[str, Any],
    fault_after_stage: str | None = None,
    run_id: str | None = None,
    link_engine: Any = None,
    on_stage: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Ingest the drop, link incrementally, recompute analytics and raise alerts, atomically.

    Returns the run report (``status`` 'completed'). Raises Conflict if another run holds the
    lock, IntelError if the drop is refused (store unchanged), or the stage's exception after
    rolling back (the runs row says 'failed' with the error). ``store`` may be a
    ``Store.session()`` of the API process (its own cursor, in a background thread).
    ``on_stage(stage)`` is called after each stage, inside the open transaction (tests)."""

    fault_after_stage = fault_after_stage or os.environ.get("INTEL_FAULT_AFTER") or None
    if fault_after_stage is not None and fault_after_stage not in STAGES:
        raise IntelError(f"unknown stage {fault_after_stage!r} to inject a fault after; stages are {list(STAGES)}")
    drop_dir = Path(drop_dir)
    if not drop_dir.is_dir():
        raise IntelError(f"drop folder {drop_dir} " + ("is a file, not a folder" if drop_dir.exists() else "does not exist"))
    cfg = config
    started = _now()
    run_id = run_id or f"run-{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    lock = RunLock(lock_path(store))
    lock.acquire(run_id)
    try:
        abandoned = [r["run_id"] for r in store.rows("SELECT run_id FROM runs WHERE status = 'running' ORDER BY run_id")]
        if abandoned:
            store.execute("UPDATE runs SET status = 'abandoned', finished_at = ?, "
                          "error = 'the run stopped without finishing (killed?); nothing of it was committed' "
                          "WHERE status = 'running'", [started])
        store.execute("INSERT INTO runs (run_id, drop_path, status, started_at, pid, host) VALUES (?, ?, 'running', ?, ?, ?)",
                      [run_id, str(drop_dir.resolve()), started, os.getpid(), socket.gethostname()])
        _log(f"{run_id}: started on {drop_dir}")
        stages: dict[str, dict[str, Any]] = {}
        current = "start"
        t_run = time.perf_counter()
        try:
            with store.transaction():
                current = "ingest"
                t = time.perf_counter()
                ing = ingest_drop(store, drop_dir, run_id=run_id)
                stages["ingest"] = {"seconds": round(time.perf_counter() - t, 3), "drop_id": ing["drop_id"],
                                    "loaded": ing["loaded"], "rejected": ing["rejected"], "replaced": ing["replaced"],
                                    "skipped_files": ing["skipped_files"], "quarantine_report": ing["quarantine_report"]}
                _log(f"ingest: {ing['loaded']} loaded, {ing['rejected']} rejected ({stages['ingest']['seconds']} s)")
                _fault("ingest", fault_after_stage, on_stage)

                current = "link"
                t = time.perf_counter()
                lk = link(store, run_id=run_id, config=cfg, engine=link_engine)
                stages["link"] = {"seconds": round(time.perf_counter() - t, 3), "mode": lk.get("mode"),
                                  **{k: lk.get(k) for k in ("mentions_new_or_changed", "mentions_scored", "persons_created",
                                                            "persons_merged", "persons_split", "persons_active")},
                                  "timings": lk.get("timings")}
                _log(f"link: {lk.get('mode')}, {lk.get('mentions_new_or_changed')} new or changed ({stages['link']['seconds']} s)")
                _fault("link", fault_after_stage, on_stage)

                current = "analytics"
                t = time.perf_counter()
                an = run_analytics(store, cfg)
                stages["analytics"] = {"seconds": round(time.perf_counter() - t, 3), "findings": an.get("findings"),
                                       "total": an.get("total")}
                _log(f"analytics: {an.get('total')} findings ({stages['analytics']['seconds']} s)")
                _fault("analytics", fault_after_stage, on_stage)

                current = "alerts"
                t = time.perf_counter()
                al = raise_alerts(store, run_id, cfg)
                al["possible"] = sync_possible_alerts(store, run_id, cfg)
                stages["alerts"] = {"seconds": round(time.perf_counter() - t, 3), **al}
                _log(f"alerts: {al['raised']} raised, {al['updated']} updated ({stages['alerts']['seconds']} s)"
                     + (" - the first load, recorded as the baseline" if al["baseline"] else ""))
                _fault("alerts", fault_after_stage, on_stage)

                current = "commit"
                report = {
                    "run_id": run_id, "status": "completed", "drop": str(drop_dir), "started_at": started.isoformat(),
                    "stages": stages,
                    "new_alerts_by_rule": {} if al["baseline"] else al["raised_by_rule"],
                    "new_alerts": 0 if al["baseline"] else al["raised"],
                    "updated_alerts": al["updated"],
                    **({"baseline_alerts": al["raised"], "baseline_alerts_by_rule": al["raised_by_rule"],
                        "baseline_note": al["note"]} if al["baseline"] else {}),
                    "rejected_rows": ing["rejected"], "loaded_rows": ing["loaded"],
                    "abandoned_runs_found": abandoned,
                    "stale_lock": lock.stale,
                }
                t = time.perf_counter()
                report["finished_at"] = _now().isoformat()
                report["seconds"] = round(time.perf_counter() - t_run, 3)
                _update_run(store, run_id, status="completed", finished_at=_now(), report=json.dumps(report, default=str))
            report["commit_seconds"] = round(time.perf_counter() - t, 3)
            report["seconds"] = round(time.perf_counter() - t_run, 3)
            _log(f"{run_id}: completed in {report['seconds']} s")
            return report
        except BaseException as exc:
            error = f"{type(exc).__name__} in stage {current}: {exc}"
            _log(f"{run_id}: FAILED ({error}); rolled back, the store is as it was before the run")
            failed = {"run_id": run_id, "status": "failed", "stage": current, "error": error, "stages": stages,
                      "traceback": traceback.format_exc(limit=8) if not isinstance(exc, IntelError) else None}
            try:
                _update_run(store, run_id, status="failed", finished_at=_now(), error=error,
                            report=json.dumps(failed, default=str))
            except Exception:  # pragma: no cover - the store itself is broken; the lock still goes
                pass
            exc.run_report = failed  # type: ignore[attr-defined]
            raise
    finally:
        lock.release()


def get_run(store: Store, run_id: str) -> dict[str, Any]:
    rows = store.rows("SELECT * FROM runs WHERE run_id = ?", [run_id])
    if not rows:
        raise NotFound(f"no run {run_id!r}")
    r = rows[0]
    r["report"] = json.loads(r["report"]) if r["report"] else None
    return r


def list_runs(store: Store, limit: int = 20) -> list[dict[str, Any]]:
    rows = store.rows("SELECT run_id, drop_path, status, started_at, finished_at, error FROM runs "
                      "ORDER BY started_at DESC, run_id DESC LIMIT ?", [int(limit)])
    return rows
