"""Who is asking, may they, and why: bearer tokens, role rights, the purpose header, the audit.

Order of checks on every route but /health (so a refusal never says whether a person exists):
1. a valid bearer token (401 otherwise);
2. the role's right to the endpoint (403 otherwise) - before anything is looked up;
3. a purpose (X-Purpose, 400 without one) on every route that reads or changes personal data;
4. only then the subject (person, household, alert) is looked up.

:class:`AuditMiddleware` writes one audit entry per request to a guarded route, with the
response status, *before* the response starts: a client never receives personal data whose
reading was not recorded (if the audit write fails, the answer is a 500 instead).
"""

from __future__ import annotations

import asyncio
import sys
import traceback
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.problems import Problem, dumps, problem_body, PROBLEM_MEDIA
from core.store import Store

bearer = HTTPBearer(auto_error=False, description="The token `intel users add` printed.")

PURPOSE_DOC = ("Why you need this (recorded in the audit log). Required on every request that reads or "
               "changes personal data; 400 without it.")


@dataclass(frozen=True)
class Principal:
    name: str
    role: str
    rights: frozenset[str]
    health_clearance: bool
    domestic_abuse_only: bool
    purpose: str | None


async def db(request: Request) -> Store:
    """A Store over a cursor of its own for this request (MVCC: sees the last committed state),
    opened only if the request uses it (one answered from the in-memory snapshot does not).

    A GET runs in one read transaction, so all its queries see the same state: a run that
    commits while a chronology is being built cannot give it half the old state and half the
    new. Other methods use autocommit and the library's own transactions, which commit before
    the response is sent. Closed by :class:`RequestSessions` once the request is answered (a
    plain function, not a generator dependency: FastAPI's exit stack for one cost ~0.1 ms a
    request). async: nothing here blocks, so no worker thread is taken for it."""
    session = request.app.state.store.lazy_session(read_transaction=request.method in ("GET", "HEAD"))
    request.scope.setdefault("state", {}).setdefault(_SESSIONS, []).append(session)
    return session


_SESSIONS = "db_sessions"


class RequestSessions:
    """Pure ASGI: closes the request's store sessions (:func:`db`) when it has been answered,
    whatever happened."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            for session in scope.get("state", {}).pop(_SESSIONS, ()):
                session.close()


def audit_state(request: Request) -> dict[str, Any]:
    state = request.scope.setdefault("state", {})
    return state.setdefault("audit", {})


def set_subject(request: Request, kind: str, subject_id: str | None, **detail: Any) -> None:
    entry = audit_state(request)
    entry["subject_kind"], entry["subject_id"] = kind, subject_id
    if detail:
        entry.setdefault("detail", {}).update(detail)


def add_detail(request: Request, **detail: Any) -> None:
    audit_state(request).setdefault("detail", {}).update(detail)


def guard(right: str, *, personal: bool = True):
    """A dependency: the authenticated, authorised principal of the request."""

    async def dependency(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
        x_purpose: str | None = Header(None, alias="X-Purpose", description=PURPOSE_DOC),
    ) -> Principal:
        # async: the users are in memory (access.users.ActiveUsers), so no worker thread is taken
        cfg = request.app.state.config["api"]
        entry = audit_state(request)
        entry["audited"] = True
        token = credentials.credentials if credentials and credentials.scheme.lower() == "bearer" else None
        user = request.app.state.users.authenticate(token)
        if user is None:
            raise Problem(401, "unauthorized", "a valid bearer token is required (Authorization: Bearer TOKEN)",
                          headers={"WWW-Authenticate": 'Bearer realm="mash-intel"'})
        entry["user_name"], entry["role"] = user["name"], user["role"]
        role = cfg["roles"].get(user["role"], {})
        purpose = (x_purpose or "").strip() or None
        entry["purpose"] = purpose
        if right not in role.get("rights", []):
            raise Problem(403, "forbidden-role", f"the {user['role']} role may not use this endpoint")
        if personal and (purpose is None or len(purpose) < int(cfg.get("min_purpose_length", 4))):
            raise Problem(400, "purpose-required",
                          "state the purpose of this request in the X-Purpose header (it is recorded)")
        return Principal(user["name"], user["role"], frozenset(role.get("rights", [])),
                         bool(role.get("health_clearance")), bool(role.get("domestic_abuse_only")), purpose)

    return dependency


class AuditMiddleware:
    """Pure ASGI: records the audit entry of a guarded request as its response starts, and turns
    an unhandled exception into a problem+json 500 (audited too)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        started = False

        async def write(status: int) -> None:
            entry = state.get("audit")
            if not entry or not entry.get("audited"):
                return
            route = scope.get("route")
            path = scope.get("path", "")
            query = scope.get("query_string", b"").decode("latin-1")
            app = scope["app"]
            fields = dict(
                user_name=entry.get("user_name"), role=entry.get("role"), method=scope.get("method", ""),
                endpoint=getattr(route, "path", path), path=path + (f"?{query}" if query else ""),
                status=status, subject_kind=entry.get("subject_kind"), subject_id=entry.get("subject_id"),
                purpose=entry.get("purpose"), detail=entry.get("detail"))

            # committed (with the other requests' entries of the moment) before the answer starts
            await asyncio.wrap_future(app.state.audit_queue.submit(**fields))

        async def send_wrapper(message: dict) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                await write(message["status"])
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:  # noqa: BLE001 - the last line: answer 500 problem+json
            traceback.print_exc(file=sys.stderr)
            if started:
                raise
            detail = "the server failed to answer; the error is logged"
            try:
                await write(500)
            except Exception:  # noqa: BLE001
                traceback.print_exc(file=sys.stderr)
            body = dumps(problem_body(500, "internal", detail, scope.get("path")))
            await send({"type": "http.response.start", "status": 500,
                        "headers": [(b"content-type", PROBLEM_MEDIA.encode()),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            del exc
