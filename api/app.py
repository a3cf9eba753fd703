"""The HTTP API: ``create_app`` wires the routes (one module per family under ``api/routes/``)
to the store, the audit, the users, the runs and the serving snapshot.

``create_app(db_path)`` opens the store (the server becomes its one writing process) and serves:
see docs/api.md for every route, its role and its audit entry. Errors are problem+json
(api/problems.py); who may do what and the audit are in api/security.py and api/subjects.py;
runs and decisions that must not cross them in api/runs.py.
"""

from __future__ import annotations

import asyncio
import inspect
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anyio.to_thread
from fastapi import FastAPI

from access.audit import AuditJournal, AuditWriter, journal_path
from access.users import ActiveUsers, roles, token_days
from api.alert_cache import AlertQueueKeeper
from api.audit_queue import AuditQueue
from api.problems import install
from api.review_cache import ReviewQueueCache
from api.routes import alerts, linkage, metrics, persons, review, runs, service, users
from api.routes.common import ERRORS
from api.runs import RunManager
from api.security import AuditMiddleware, RequestSessions
from api.snapshot import SnapshotKeeper
from core.config import load_config
from core.store import Store

ROUTERS = (service, persons, alerts, linkage, review, runs, users, metrics)


class WorkerThreads:
    """Pure ASGI: caps the worker threads that run the blocking work (routes, dependencies, the
    audit write) at ``tokens`` (anyio's default is 40). Requests beyond the cap wait their turn
    in order instead of all running at once: on a machine with few cores, 20 requests thrashing
    the GIL and DuckDB together each took longer than waiting did (measured: see
    docs/bench-api.md). The limiter belongs to the event loop, so it is set on each request."""

    def __init__(self, app: Any, tokens: int) -> None:
        self.app, self.tokens = app, tokens
        self._loop: asyncio.AbstractEventLoop | None = None

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        loop = asyncio.get_running_loop()
        if scope["type"] == "http" and loop is not self._loop:   # anyio's lookup costs ~20 us
            anyio.to_thread.current_default_thread_limiter().total_tokens = self.tokens
            self._loop = loop
        await self.app(scope, receive, send)


# Request paths name persons: no traces, metrics or logs of them leave the process through
# OpenTelemetry (FastAPI >= 0.165 reports them when a provider is configured), and the check
# for a provider is not made on every request.
_NO_TELEMETRY = ({"telemetry": {"tracing": False, "metrics": False, "logs": False}}
                 if "telemetry" in inspect.signature(FastAPI.__init__).parameters else {})


def worker_threads(cfg: Mapping[str, Any]) -> int:
    """``[api] worker_threads`` if configured, else twice the CPU count (at least 4)."""
    configured = cfg.get("api", {}).get("worker_threads")
    return max(1, int(configured)) if configured else max(4, 2 * (os.cpu_count() or 1))


def create_app(db_path: str | Path | None = None, *, store: Store | None = None,
               config: Mapping[str, Any] | None = None, run_options: dict[str, Any] | None = None) -> FastAPI:
    """The API over the store at ``db_path`` (or an open ``store``). ``config`` is the hub's
    configuration, loaded once by the caller (the CLI); without one, the shipped defaults and
    ``$INTEL_CONFIG`` are loaded here, this being the edge for an embedding program."""
    cfg = config if config is not None else load_config()
    roles(cfg)   # a role that could read hidden records is refused before anything is served
    owner = store if store is not None else Store(db_path, create=False)
    app = FastAPI(
        title="mash-intel API",
        version="1",
        description=("Repeat-victim and network intelligence for a MASH. Every route but /health needs "
                     "`Authorization: Bearer TOKEN`; every route that reads or changes personal data needs "
                     "`X-Purpose` and is recorded in the audit log. Errors are RFC 9457 problem+json."),
        responses=ERRORS,
        **_NO_TELEMETRY,
    )
    app.state.store = owner
    app.state.config = cfg
    app.state.audit = AuditWriter(owner, cfg)   # moves in what a crash left in the journal
    journal = AuditJournal(journal_path(owner.path)) if cfg.get("api", {}).get("audit_journal", True) else None
    app.state.audit_queue = AuditQueue(owner, app.state.audit, journal=journal)
    app.state.users = ActiveUsers(owner, token_days(cfg))
    app.state.runs = RunManager(owner, cfg, run_options)
    app.state.runs.drain_at_start()
    app.state.runs.refresh_search_index()
    app.state.snapshot = SnapshotKeeper(owner, enabled=bool(cfg.get("api", {}).get("snapshot", True)))
    app.state.review_queue = ReviewQueueCache(owner, cfg)   # ranked on first use (intel serve: at start)
    # read on first use (intel serve: at start); SQL until then
    app.state.alert_queue = AlertQueueKeeper(owner, enabled=bool(cfg.get("api", {}).get("snapshot", True)))

    def changed() -> None:   # after each commit that changes persons, links or findings
        app.state.snapshot.invalidate()
        app.state.review_queue.invalidate()
        app.state.alert_queue.invalidate()

    def decided(store: Store, result: dict) -> None:   # after a decision made through the API
        app.state.snapshot.invalidate()
        app.state.review_queue.decided(store, result)   # served patched at once, ranked again behind
        app.state.alert_queue.invalidate()               # merges and splits move alerts' subjects

    app.state.runs.on_change = changed
    app.state.runs.on_decided = decided
    app.state.snapshot.build_now()
    app.add_middleware(RequestSessions)
    app.add_middleware(AuditMiddleware)
    app.add_middleware(WorkerThreads, tokens=worker_threads(cfg))
    install(app)

    for family in ROUTERS:
        app.include_router(family.router)
    return app
