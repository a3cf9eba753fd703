"""The HTTP API: thin routes over the library functions the CLI calls.

``create_app(db_path)`` opens the store (the server becomes its one writing process) and serves:
see docs/api.md for every route, its role and its audit entry. Errors are problem+json
(api/problems.py); who may do what and the audit are in api/security.py; runs and decisions
that must not cross them in api/runs.py.
"""

from __future__ import annotations

import asyncio
import inspect
import os
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import anyio.to_thread
from fastapi import Depends, FastAPI, Path as PathParam, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api.audit_queue import AuditQueue
from api.lens import apply_lens
from api.problems import PROBLEM_MEDIA, Problem, ProblemModel, dumps, install
from api.runs import RunManager
from api.security import AuditMiddleware, Principal, RequestSessions, add_detail, db, guard, set_subject
from api.snapshot import SnapshotKeeper
from findings.alert_config import MARAC_RULES
from intel.audit import AuditJournal, AuditWriter, journal_path
from intel.chronology_sources import SnapshotReader, StoreReader
from intel.config import load_config
from intel.errors import NotFound
from intel.store import Store
from intel.users import ActiveUsers

def _id() -> Any:
    return PathParam(..., min_length=1, max_length=64)


_ERRORS = {s: {"model": ProblemModel, "content": {PROBLEM_MEDIA: {}}}
           for s in (400, 401, 403, 404, 409, 422, 500)}
MARAC_DENIED = "this record is not available to your role"


def ok(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(obj), status_code=status, media_type="application/json", headers=headers)


def _page(request: Request, items: list[Any], limit: int, offset: int, total: int | None,
          more: bool | None = None) -> dict[str, Any]:
    has_more = more if more is not None else (total is not None and offset + limit < total)
    nxt = str(request.url.include_query_params(offset=offset + limit, limit=limit)) if has_more else None
    return {"limit": limit, "offset": offset, "total": total, "next": nxt, "items": items}


# Query parameters, a model per route: FastAPI validates a model in one pydantic call, where
# separate parameters and a paging dependency cost ~0.2 ms a request between them.

class PageQuery(BaseModel):
    limit: int = Field(50, ge=1, le=500, description="Page size.")
    offset: int = Field(0, ge=0, le=10_000_000, description="Items to skip.")


class SearchQuery(PageQuery):
    forename: str | None = Field(None, max_length=100)
    surname: str | None = Field(None, max_length=100)
    dob: date | None = Field(None, description="YYYY-MM-DD")
    postcode: str | None = Field(None, max_length=16)


class AlertsQuery(PageQuery):
    # checked by intel.alerts.check_filters: an unknown value is a 400 naming the choices
    status: str | None = Field(None, max_length=32, description="new, baseline, acknowledged, closed, open or all")
    rule: str | None = Field(None, max_length=64, description="One rule, e.g. repeat_victim")
    severity: str | None = Field(None, max_length=16, description="low, medium or high")
    person_id: str | None = Field(None, max_length=64, description="Alerts naming this person (a merged id finds its survivor's)")


class NetworkQuery(BaseModel):
    hops: int = Field(2, ge=1, le=3)
    format: Literal["json", "graphml", "svg"] = "json"


class ChronologyQuery(PageQuery):
    date_from: date | None = Field(None, alias="from", description="Only entries on or after this date.")
    date_to: date | None = Field(None, alias="to", description="Only entries on or before this date.")
    sources: str | None = Field(None, max_length=100, description="Comma-separated: police,social_care,health")
    harm_only: bool = False
    format: Literal["json", "csv", "html"] = "json"


# --- bodies -------------------------------------------------------------------------------------

class AlertAction(BaseModel):
    reason: str = Field(..., min_length=1, max_length=2000, description="Why (recorded on the alert).")


class Decision(BaseModel):
    mention_a: str = Field(..., min_length=1, max_length=200, description="SOURCE:RECORD_ID")
    mention_b: str = Field(..., min_length=1, max_length=200, description="SOURCE:RECORD_ID")
    decision: Literal["same", "different"]
    reason: str = Field(..., min_length=1, max_length=2000)


class RunRequest(BaseModel):
    drop_dir: str = Field(..., min_length=1, max_length=4096, description="A drop folder the server can read.")


class NewUser(BaseModel):
    name: str = Field(..., min_length=1, max_length=64)
    role: Literal["analyst", "marac", "admin"]


# --- who may see which person ------------------------------------------------------------------

def _has_da_person(store: Store, person_id: str) -> bool:
    return bool(store.rows(
        "SELECT 1 FROM person_mentions pm JOIN mentions m USING (mention_id) "
        "WHERE pm.person_id = ? AND m.event_type = 'domestic_abuse' LIMIT 1", [person_id]))


def _has_da_household(store: Store, household_key: str) -> bool:
    return bool(store.rows(
        "SELECT 1 FROM mentions WHERE household_key = ? AND event_type = 'domestic_abuse' LIMIT 1", [household_key]))


def person_access(request: Request, store: Store, who: Principal, person_id: str,
                  reader: SnapshotReader | None = None) -> str:
    """The surviving id of ``person_id`` if ``who`` may see it. A marac user gets the same 403 for
    a person who does not exist as for one without a domestic-abuse event (so a refusal never
    says whether someone is known); other roles get 404 for an unknown id. A merged id answers
    307 to the same route under the surviving id."""
    resolve = (reader or StoreReader(store)).resolve
    set_subject(request, "person", person_id)
    if who.domestic_abuse_only:
        try:
            resolved = resolve(person_id)
        except NotFound:
            raise Problem(403, "forbidden-subject", MARAC_DENIED) from None
        if not _has_da_person(store, resolved):
            raise Problem(403, "forbidden-subject", MARAC_DENIED)
    else:
        resolved = resolve(person_id)
    if resolved != person_id:
        add_detail(request, resolved_to=resolved)
        location = request.url.path.replace(f"/persons/{person_id}", f"/persons/{resolved}", 1)
        if request.url.query:
            location += "?" + request.url.query
        raise Problem(307, "merged", f"person {person_id} was merged into {resolved}",
                      headers={"Location": location}, extra={"person_id": resolved, "requested_id": person_id})
    return resolved


def _marac_lens(store: Store) -> dict[str, Any]:
    """What a MARAC coordinator's alert queue holds: MARAC-criteria and escalation alerts about
    people with a domestic-abuse record."""
    people = [r["person_id"] for r in store.rows(
        "SELECT DISTINCT pm.person_id FROM person_mentions pm JOIN mentions m USING (mention_id) "
        "WHERE m.event_type = 'domestic_abuse'")]
    return {"rules": list(MARAC_RULES), "person_ids": people}


def household_access(request: Request, store: Store, who: Principal, household_key: str) -> None:
    set_subject(request, "household", household_key)
    if who.domestic_abuse_only and not _has_da_household(store, household_key):
        raise Problem(403, "forbidden-subject", MARAC_DENIED)


def _chronology_reader(app: FastAPI) -> SnapshotReader | None:
    snap = app.state.snapshot.current()
    return snap.chronology if snap is not None else None


async def _in_memory_or_thread(in_memory: bool, who: Principal, work: Callable[[], Response]) -> Response:
    """Run ``work`` on the event loop when it reads memory only (the snapshot is current and the
    role needs no SQL check: marac's domestic-abuse check is SQL), else in a worker thread. A
    chronology from memory takes ~0.5 ms of Python, less than the hop to a thread and back
    costs; Python in a thread would hold the GIL all the same. DuckDB work never blocks the loop."""
    if in_memory and not who.domestic_abuse_only:
        return work()
    return await anyio.to_thread.run_sync(work)


# --- the app -----------------------------------------------------------------------------------

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


def worker_threads(cfg: dict[str, Any]) -> int:
    """``[api] worker_threads`` if configured, else twice the CPU count (at least 4)."""
    configured = cfg.get("api", {}).get("worker_threads")
    return max(1, int(configured)) if configured else max(4, 2 * (os.cpu_count() or 1))


def create_app(db_path: str | Path | None = None, *, store: Store | None = None,
               config: dict[str, Any] | None = None, run_options: dict[str, Any] | None = None) -> FastAPI:
    cfg = config if config is not None else load_config()
    owner = store if store is not None else Store(db_path)
    app = FastAPI(
        title="mash-intel API",
        version="1",
        description=("Repeat-victim and network intelligence for a MASH. Every route but /health needs "
                     "`Authorization: Bearer TOKEN`; every route that reads or changes personal data needs "
                     "`X-Purpose` and is recorded in the audit log. Errors are RFC 9457 problem+json."),
        responses=_ERRORS,
        **_NO_TELEMETRY,
    )
    app.state.store = owner
    app.state.config = cfg
    app.state.audit = AuditWriter(owner)   # moves in what a crash left in the journal
    journal = AuditJournal(journal_path(owner.path)) if cfg.get("api", {}).get("audit_journal", True) else None
    app.state.audit_queue = AuditQueue(owner, app.state.audit, journal=journal)
    app.state.users = ActiveUsers(owner)
    app.state.runs = RunManager(owner, cfg, run_options)
    app.state.runs.drain_at_start()
    app.state.runs.refresh_search_index()
    app.state.snapshot = SnapshotKeeper(owner, enabled=bool(cfg.get("api", {}).get("snapshot", True)))
    app.state.runs.on_change = app.state.snapshot.invalidate
    app.state.snapshot.build_now()
    app.add_middleware(RequestSessions)
    app.add_middleware(AuditMiddleware)
    app.add_middleware(WorkerThreads, tokens=worker_threads(cfg))
    install(app)

    @app.get("/health", tags=["service"], summary="Is the service up (no auth)")
    def health() -> Response:
        return ok({"status": "ok", "run_in_progress": app.state.runs.current_run is not None,
                   "snapshot": app.state.snapshot.status()})

    # -- persons ---------------------------------------------------------------------------
    @app.get("/persons", tags=["persons"], summary="Search persons: ranked candidates with a match score")
    async def search(request: Request, q: Annotated[SearchQuery, Query()],
                     who: Principal = Depends(guard("search")), store: Store = Depends(db)) -> Response:
        from intel.search import search_persons

        snap = app.state.snapshot.current()   # candidates from memory; SQL while it is rebuilt

        def work() -> Response:
            query = {k: v for k, v in (("forename", q.forename), ("surname", q.surname), ("dob", q.dob),
                                       ("postcode", q.postcode)) if v not in (None, "")}
            set_subject(request, "search", None, query=query)
            found = search_persons(store, forename=q.forename, surname=q.surname, dob=q.dob, postcode=q.postcode,
                                   limit=q.limit, offset=q.offset, index=snap.search if snap else None)
            add_detail(request, returned=[c["person_id"] for c in found["candidates"]])
            body = _page(request, found["candidates"], q.limit, q.offset, found["total"])
            body["query"], body["truncated"] = found["query"], found["truncated"]
            return ok(body)

        return await _in_memory_or_thread(snap is not None, who, work)

    @app.get("/persons/{person_id}", tags=["persons"], summary="A person: their records and how they were linked")
    def person(request: Request, person_id: str = _id(), who: Principal = Depends(guard("person")),
               store: Store = Depends(db)) -> Response:
        from linkage.identity import person_record

        resolved = person_access(request, store, who, person_id)
        return ok(person_record(store, resolved))

    def _chron_response(request: Request, chron: dict[str, Any], fmt: str, page: PageQuery) -> Response:
        from intel.chronology import to_csv, to_html

        events = chron.get("events", [])
        add_detail(request, entries=len(events), format=fmt)
        if fmt == "csv":
            return Response(to_csv(chron), media_type="text/csv; charset=utf-8")
        if fmt == "html":
            return Response(to_html(chron), media_type="text/html; charset=utf-8")
        body = {k: v for k, v in chron.items() if k != "events"}
        body["events"] = _page(request, events[page.offset: page.offset + page.limit], page.limit, page.offset,
                               len(events))
        return ok(body)

    def _chron_args(who: Principal, fmt: str) -> dict[str, Any]:
        # hub_only rows never leave in an export format (csv, html), nor to marac (not hub staff)
        return {"health_clearance": who.health_clearance, "export": fmt != "json" or who.domestic_abuse_only}

    @app.get("/persons/{person_id}/chronology", tags=["chronologies"], summary="A person's chronology")
    async def person_chronology(
        request: Request, q: Annotated[ChronologyQuery, Query()], person_id: str = _id(),
        who: Principal = Depends(guard("chronology")), store: Store = Depends(db),
    ) -> Response:
        from intel.chronology import chronology

        reader = _chronology_reader(app)   # None while a write is not yet in it: SQL then

        def work() -> Response:
            resolved = person_access(request, store, who, person_id, reader)
            chron = chronology(store, person_id=resolved, date_from=q.date_from, date_to=q.date_to, sources=q.sources,
                               harm_only=q.harm_only, config=app.state.config, reader=reader,
                               **_chron_args(who, q.format))
            return _chron_response(request, chron, q.format, q)

        return await _in_memory_or_thread(reader is not None, who, work)

    @app.get("/households/{household_key:path}/chronology", tags=["chronologies"], summary="A household's chronology")
    async def household_chronology(
        request: Request, q: Annotated[ChronologyQuery, Query()],
        household_key: str = PathParam(..., min_length=1, max_length=400),
        who: Principal = Depends(guard("chronology")), store: Store = Depends(db),
    ) -> Response:
        from intel.chronology import chronology

        reader = _chronology_reader(app)

        def work() -> Response:
            household_access(request, store, who, household_key)
            chron = chronology(store, household_key=household_key, date_from=q.date_from, date_to=q.date_to,
                               sources=q.sources, harm_only=q.harm_only, config=app.state.config, reader=reader,
                               **_chron_args(who, q.format))
            return _chron_response(request, chron, q.format, q)

        return await _in_memory_or_thread(reader is not None, who, work)

    # -- alerts ----------------------------------------------------------------------------
    @app.get("/alerts", tags=["alerts"], summary="Alerts, newest first")
    def alerts(request: Request, q: Annotated[AlertsQuery, Query()], who: Principal = Depends(guard("alerts")),
               store: Store = Depends(db)) -> Response:
        from intel.alerts import list_alerts

        set_subject(request, "alert", None, status=q.status, rule=q.rule, person_id=q.person_id)
        page = list_alerts(store, status=q.status, rule=q.rule, severity=q.severity, person_id=q.person_id,
                           limit=q.limit, offset=q.offset, config=app.state.config, with_total=True,
                           **(_marac_lens(store) if who.domestic_abuse_only else {}))
        add_detail(request, returned=[a["alert_id"] for a in page["items"]])
        return ok(_page(request, page["items"], q.limit, q.offset, page["total"]))

    def _act(request: Request, alert_id: str, action: str, body: AlertAction, who: Principal, store: Store) -> Response:
        from intel.alerts import act_on_alert

        set_subject(request, "alert", alert_id, action=action)
        if who.domestic_abuse_only:   # a MARAC coordinator lists their alerts; the hub acts on them
            raise Problem(403, "forbidden-role", f"the {who.role} role may list alerts but not act on them")
        result = act_on_alert(store, alert_id, action, who.name, body.reason)
        app.state.snapshot.invalidate(alerts_only=True)   # a chronology's header lists open alerts
        return ok(result)

    @app.post("/alerts/{alert_id}/acknowledge", tags=["alerts"], summary="Acknowledge a new alert")
    def acknowledge(request: Request, body: AlertAction, alert_id: str = _id(),
                    who: Principal = Depends(guard("alerts")), store: Store = Depends(db)) -> Response:
        return _act(request, alert_id, "acknowledge", body, who, store)

    @app.post("/alerts/{alert_id}/close", tags=["alerts"], summary="Close an acknowledged alert")
    def close(request: Request, body: AlertAction, alert_id: str = _id(),
              who: Principal = Depends(guard("alerts")), store: Store = Depends(db)) -> Response:
        return _act(request, alert_id, "close", body, who, store)

    # -- linkage ---------------------------------------------------------------------------
    @app.post("/links/decisions", tags=["linkage"],
              summary="Two records are the same person, or different people (applied now, or queued behind a run)")
    def decisions(request: Request, body: Decision, who: Principal = Depends(guard("decide")),
                  store: Store = Depends(db)) -> Response:
        a, b = sorted((body.mention_a.strip(), body.mention_b.strip()))
        set_subject(request, "mention_pair", f"{a}|{b}", decision=body.decision)
        status, result = app.state.runs.decide(store, a, b, body.decision, who.name, body.reason)
        if status == 200:
            add_detail(request, persons_before=result.get("persons_before"), persons_after=result.get("persons_after"),
                       decision_id=result.get("decision_id"))
        else:
            add_detail(request, queue_id=result["queue_id"])
        return ok(result, status)

    @app.get("/links/decisions/queued/{queue_id}", tags=["linkage"],
             summary="A decision queued behind a run: applied or refused, once the run ended")
    def queued_decision(request: Request, queue_id: str = _id(), who: Principal = Depends(guard("decide")),
                        store: Store = Depends(db)) -> Response:
        row = app.state.runs.queued(store, queue_id)
        set_subject(request, "mention_pair", f"{row['mention_a']}|{row['mention_b']}", queue_id=queue_id)
        return ok(row)

    # -- runs (admin) ----------------------------------------------------------------------
    @app.post("/runs", tags=["runs"], status_code=202, summary="Start a nightly run on a drop folder")
    def start_run(request: Request, body: RunRequest, who: Principal = Depends(guard("runs")),
                  store: Store = Depends(db)) -> Response:
        set_subject(request, "run", None, drop_dir=body.drop_dir)
        run_id = app.state.runs.start(body.drop_dir, who.name)
        set_subject(request, "run", run_id)
        return ok({"run_id": run_id, "status": "running", "href": f"/runs/{run_id}"}, 202,
                  headers={"Location": f"/runs/{run_id}"})

    @app.get("/runs", tags=["runs"], summary="Runs, newest first")
    def runs(request: Request, page: Annotated[PageQuery, Query()],
             who: Principal = Depends(guard("runs", personal=False)),
             store: Store = Depends(db)) -> Response:
        from intel.runs import list_runs

        rows = list_runs(store, limit=page.offset + page.limit + 1)[page.offset:]
        return ok(_page(request, rows[: page.limit], page.limit, page.offset, None, more=len(rows) > page.limit))

    @app.get("/runs/{run_id}", tags=["runs"], summary="A run's status and report")
    def run(request: Request, run_id: str = _id(), who: Principal = Depends(guard("runs", personal=False)),
            store: Store = Depends(db)) -> Response:
        from intel.runs import get_run

        set_subject(request, "run", run_id)
        try:
            return ok(get_run(store, run_id))
        except NotFound:
            if run_id == app.state.runs.current_run:
                return ok({"run_id": run_id, "status": "starting"})
            raise

    # -- users (admin) ---------------------------------------------------------------------
    @app.get("/users", tags=["users"], summary="Users (tokens are never shown)")
    def users(request: Request, page: Annotated[PageQuery, Query()],
              who: Principal = Depends(guard("users", personal=False)),
              store: Store = Depends(db)) -> Response:
        from intel.users import list_users

        rows = list_users(store)
        return ok(_page(request, rows[page.offset: page.offset + page.limit], page.limit, page.offset, len(rows)))

    @app.post("/users", tags=["users"], status_code=201, summary="Add a user; the token is in the answer, once")
    def add_user(request: Request, body: NewUser, who: Principal = Depends(guard("users", personal=False)),
                 store: Store = Depends(db)) -> Response:
        from intel.users import add_user as add

        set_subject(request, "user", body.name, role=body.role)
        created = add(store, body.name, body.role, by=who.name, config=app.state.config)
        app.state.users.reload(store)
        return ok(created, 201)

    @app.delete("/users/{name}", tags=["users"], summary="Revoke a user's token")
    def revoke(request: Request, name: str = _id(), who: Principal = Depends(guard("users", personal=False)),
               store: Store = Depends(db)) -> Response:
        from intel.users import revoke_user

        set_subject(request, "user", name)
        revoked = revoke_user(store, name, by=who.name)
        app.state.users.reload(store)   # the next request with that token is refused
        return ok(revoked)

    _network_routes(app)
    _explain_routes(app)
    return app


def _network_routes(app: FastAPI) -> None:
    try:
        from intel.network_view import network_view  # noqa: F401
    except ImportError:  # not landed: the route is left out rather than faked
        return

    @app.get("/persons/{person_id}/network", tags=["networks"], summary="A person's network (people and events)")
    async def network(request: Request, q: Annotated[NetworkQuery, Query()], person_id: str = _id(),
                      who: Principal = Depends(guard("network")), store: Store = Depends(db)) -> Response:
        from intel.network_view import network_view

        # hub_only rows never leave in an export format (graphml, svg) nor go to marac (not hub
        # staff); a role without health clearance sees only that a health contact happened.
        drop_hub_only, mask_health = q.format != "json" or who.domestic_abuse_only, not who.health_clearance
        snap = app.state.snapshot.current()
        # the snapshot in memory is unrestricted: only a viewer who needs no lens reads it
        in_memory = snap is not None and not (drop_hub_only or mask_health)

        def work() -> Response:
            resolved = person_access(request, store, who, person_id, snap.chronology if snap else None)
            add_detail(request, hops=q.hops, format=q.format)
            if not in_memory:
                apply_lens(store, drop_hub_only=drop_hub_only, mask_health=mask_health)
            out = network_view(store, resolved, hops=q.hops, fmt=q.format, config=app.state.config,
                               memory=snap.network if in_memory else None, resolved=True)
            if q.format == "json":
                return ok(out)
            media = "application/graphml+xml" if q.format == "graphml" else "image/svg+xml"
            return Response(out, media_type=media)

        return await _in_memory_or_thread(in_memory, who, work)


def _explain_routes(app: FastAPI) -> None:
    try:
        from linkage.explain import explain_pair  # noqa: F401
    except ImportError:  # not landed: the route is left out rather than faked
        return

    @app.get("/links/explain", tags=["linkage"], summary="Why two records are (or are not) linked")
    def explain(request: Request, a: str = Query(..., min_length=1, max_length=200),
                b: str = Query(..., min_length=1, max_length=200),
                who: Principal = Depends(guard("explain")), store: Store = Depends(db)) -> Response:
        from linkage.explain import explain_pair

        set_subject(request, "mention_pair", "|".join(sorted((a, b))))
        return ok(explain_pair(store, a, b))
