"""Nightly runs inside the server, and link decisions that must not cross them.

DuckDB lets one process write a database file; the server is that process. It owns the Store
and gives each request a cursor of its own (``Store.session()``); DuckDB's MVCC lets every
cursor read the last committed state while another cursor's transaction is open.

- ``POST /runs`` starts :func:`findings.runs.run_nightly` in a background thread on its own cursor.
  The run does all its work in ONE transaction, so requests keep being answered from the last
  complete state and see the new one only when the run commits.
- What users write during a run - audit entries, alert acknowledgements (``alert_events``) -
  are append-only inserts into tables the run never updates, each in its own small transaction,
  so they never conflict with the run and are never lost to it.
- A link decision re-clusters persons at once (``linkage.decisions.decide`` rewrites
  ``person_mentions`` / ``persons``), which *would* conflict with the run's transaction. So
  decisions and runs are serialised by ``identity_lock``: a decision made while no run is going
  takes the lock and applies now; one made during a run is appended to ``api_queued_decisions``
  (202) and applied, in order, by the run's thread as soon as the run ends (committed or not),
  before the lock is let go. Each outcome is appended to ``api_decision_outcomes``. A queue left
  by a server that stopped is applied when the server starts.
"""

from __future__ import annotations

import sys
import threading
import traceback
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.errors import Conflict, IntelError, NotFound
from core.store import Store
from findings.run_reports import drops_folder
from findings.runs import run_nightly
from linkage.decisions import DECISIONS, decide
from linkage.spark_engine import engine_from_config
from views.search import index_is_current, refresh_index


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def resolve_drop(root: Path, requested: str) -> Path:
    """The drop folder ``requested`` names (a name under ``root``, or a path inside it), with
    symlinks resolved; an IntelError otherwise. Nothing outside ``root`` is read: a path out of
    it, ``..``, a link out of it, or a link inside the drop to a file outside it is refused. The
    message echoes what was asked and names no server path (nor whether something exists there)."""
    refused = IntelError(f"drop {requested!r} is not a drop folder in the server's drops folder (a name such as "
                         "'2026-10-31', under [api] drops_folder)")
    try:
        base = root.resolve(strict=True)
        real = (root / requested).resolve(strict=True)
    except (OSError, ValueError, RuntimeError):   # missing, a NUL byte, a name too long, a link loop
        raise refused from None
    if real == base or not real.is_relative_to(base) or not real.is_dir():
        raise refused
    try:
        for entry in real.iterdir():
            if entry.is_symlink() and not entry.resolve().is_relative_to(base):
                raise IntelError(f"drop {requested!r}: {entry.name} is a link out of the drops folder; "
                                 "send the file itself")
    except OSError:
        raise refused from None
    return real


class RunManager:
    def __init__(self, store: Store, config: dict[str, Any], run_options: dict[str, Any] | None = None) -> None:
        self.store = store
        self.config = config
        self.run_options = run_options or {}
        self.identity_lock = threading.Lock()   # held by a run for its whole length, or by one decision
        self._state = threading.Lock()          # guards current_run and the queue hand-over
        self.current_run: str | None = None
        self.thread: threading.Thread | None = None
        self._refresh_lock = threading.Lock()   # one search-index rebuild at a time
        self._refresh_wanted = threading.Event()
        self._refresher: threading.Thread | None = None
        # called right after each commit that changes what a chronology shows (api/snapshot.py)
        self.on_change: Callable[[], None] = lambda: None
        # called instead, right after a decision made through the API commits (the request's session
        # and decide's result): the review queue is patched from it at once (api/review_cache.py)
        self.on_decided: Callable[[Store, dict[str, Any]], None] = lambda store, result: self.on_change()

    # -- the search index ------------------------------------------------------------------
    def refresh_search_index(self, store: Store | None = None) -> None:
        """Rebuild views.search's index now if it is stale (search reads the live tables meanwhile)."""

        session = store or self.store.session()
        try:
            with self._refresh_lock:
                if not index_is_current(session):
                    refresh_index(session)
        except Exception:  # noqa: BLE001 - search falls back to the live tables; say why on stderr
            traceback.print_exc(file=sys.stderr)
        finally:
            if store is None:
                session.close()

    def refresh_later(self) -> None:
        """Rebuild the search index in the background (after a decision), coalescing requests."""
        self._refresh_wanted.set()
        with self._state:
            if self._refresher is not None and self._refresher.is_alive():
                return
            self._refresher = threading.Thread(target=self._refresh_loop, name="search-index", daemon=True)
            self._refresher.start()

    def _refresh_loop(self) -> None:
        while self._refresh_wanted.is_set():
            self._refresh_wanted.clear()
            self.refresh_search_index()

    # -- runs ------------------------------------------------------------------------------
    def start(self, drop_dir: str, by: str) -> str:
        path = resolve_drop(drops_folder(self.store.path, self.config), drop_dir)
        # [linkage] engine = "spark": its settings, Java and master checked now (a 4xx), not in the thread
        engine = engine_from_config(self.config) if "link_engine" not in self.run_options else None
        with self._state:
            if self.current_run is not None:
                raise Conflict(f"run {self.current_run} is in progress; wait for it to finish")
            if not self.identity_lock.acquire(timeout=30):
                raise Conflict("a link decision is being applied; try again")
            run_id = f"run-{_now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
            self.current_run = run_id
        self.thread = threading.Thread(target=self._run, args=(run_id, path, engine), name=run_id, daemon=True)
        self.thread.start()
        return run_id

    def _run(self, run_id: str, path: Path, engine: Any = None) -> None:

        session = self.store.session()
        try:
            run_nightly(session, path, run_id=run_id, config=self.config, **{"link_engine": engine, **self.run_options})
        except BaseException:  # noqa: BLE001 - the run row says 'failed'; the server goes on
            traceback.print_exc(file=sys.stderr)
        finally:
            self.on_change()
            try:
                while True:
                    if self.apply_queue(session):
                        self.on_change()
                    self.refresh_search_index(session)
                    with self._state:
                        if not self._pending(session):
                            self.current_run = None
                            break
            finally:
                session.close()
                self.identity_lock.release()

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the run in progress and any search-index rebuild (tests, shutdown)."""
        for thread in (self.thread, self._refresher):
            if thread is not None:
                thread.join(timeout)
        with self._refresh_lock:
            pass

    # -- decisions -------------------------------------------------------------------------
    def decide(self, store: Store, a: str, b: str, decision: str, by: str, reason: str,
               precheck: Callable[[Store], None] | None = None) -> tuple[int, dict[str, Any]]:
        """(200, the decision applied) or (202, the decision queued behind the run in progress).
        ``precheck(store)`` raises to refuse (a review item no longer queued): before queueing, and
        again under the identity lock before applying."""

        if decision not in DECISIONS:
            raise IntelError(f"decision must be 'same' or 'different', got {decision!r}")
        if not (reason or "").strip():
            raise IntelError("a decision needs a reason")
        for m in (a, b):
            if not store.rows("SELECT 1 FROM mentions WHERE mention_id = ?", [m]):
                raise NotFound(f"no record {m!r} (give SOURCE:RECORD_ID, e.g. police:P000123)")
        if a == b:
            raise IntelError(f"a decision needs two different records; got {a!r} twice")
        if precheck is not None:
            precheck(store)
        while True:
            with self._state:
                if self.current_run is not None:
                    queue_id = uuid.uuid4().hex
                    store.execute("INSERT INTO api_queued_decisions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                  [queue_id, _now(), a, b, decision, by, reason.strip(), self.current_run])
                    return 202, {"status": "queued", "queue_id": queue_id, "behind_run": self.current_run,
                                 "mention_a": a, "mention_b": b, "decision": decision,
                                 "detail": "a nightly run is in progress; the decision is applied when it ends"}
                if self.identity_lock.acquire(blocking=False):
                    break
            self.identity_lock.acquire(timeout=1) and self.identity_lock.release()
        try:
            if precheck is not None:
                precheck(store)
            result = decide(store, a, b, decision, by, reason, config=self.config)
        finally:
            self.identity_lock.release()
        self.on_decided(store, result)
        self.refresh_later()
        return 200, {"status": "applied", **result}

    def _pending(self, store: Store) -> list[dict[str, Any]]:
        return store.rows(
            "SELECT q.* FROM api_queued_decisions q LEFT JOIN api_decision_outcomes o USING (queue_id) "
            "WHERE o.queue_id IS NULL ORDER BY q.queued_at, q.queue_id")

    def apply_queue(self, store: Store) -> int:
        """Apply queued decisions in order (the caller holds identity_lock). Returns how many."""

        done = 0
        for q in self._pending(store):
            try:
                r = decide(store, q["mention_a"], q["mention_b"], q["decision"], q["decided_by"], q["reason"],
                           config=self.config)
                outcome = ("applied", r["decision_id"], None)
            except IntelError as exc:
                outcome = ("refused", None, str(exc))
            store.execute("INSERT INTO api_decision_outcomes VALUES (?, ?, ?, ?, ?)",
                          [q["queue_id"], _now(), *outcome])
            done += 1
        return done

    def queued(self, store: Store, queue_id: str) -> dict[str, Any]:
        rows = store.rows("SELECT q.*, o.applied_at, o.outcome, o.decision_id, o.error FROM api_queued_decisions q "
                          "LEFT JOIN api_decision_outcomes o USING (queue_id) WHERE q.queue_id = ?", [queue_id])
        if not rows:
            raise NotFound(f"no queued decision {queue_id!r}")
        return rows[0]

    def drain_at_start(self) -> int:
        session = self.store.session()
        try:
            with self.identity_lock:
                return self.apply_queue(session)
        finally:
            session.close()
