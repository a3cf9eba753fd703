"""The workspace's one way to data: the HTTP API, asked in-process as the signed-in user.

Each call goes through the whole API application (its middleware included) on the same event
loop, with ``Authorization: Bearer <the session's token>`` and ``X-Purpose: <case ref>: <reason>``.
So a page sees exactly what the API would show that user (roles, restricted lens, merged ids) and
each page view is in the audit log with its purpose, as the API's own requests are. No socket is
opened: httpx's ASGI transport calls the application object directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from web.sessions import WebSession


@dataclass
class Answer:
    status: int
    body: Any            # parsed JSON, or the text of a non-JSON answer (CSV, SVG, GraphML)
    media_type: str
    headers: httpx.Headers

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def detail(self) -> str:
        """The API's words for a refusal (problem+json ``detail``), else the status."""
        if isinstance(self.body, dict):
            if self.body.get("errors"):
                return "; ".join(_validation_text(e) for e in self.body["errors"])
            if self.body.get("detail"):
                return str(self.body["detail"])
        return f"the service answered {self.status}"


def _validation_text(error: dict[str, Any]) -> str:
    where = [str(p) for p in error.get("loc", []) if p not in ("query", "body", "path")]
    return f"{'.'.join(where) or 'input'}: {error.get('msg', 'not valid')}"


class Backend:
    """An in-process client of one API application."""

    def __init__(self, app: Any) -> None:
        self._client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://workspace",
                                         follow_redirects=False, timeout=None)

    async def call(self, session: WebSession, method: str, path: str, *, params: dict[str, Any] | None = None,
                   json: Any = None, personal: bool = True) -> Answer:
        headers = {"Authorization": f"Bearer {session.token}"}
        if personal and session.purpose:
            headers["X-Purpose"] = session.purpose
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        r = await self._client.request(method, path, params=clean, json=json, headers=headers)
        media = r.headers.get("content-type", "").split(";")[0].strip()
        body: Any = r.content
        if media.endswith("json"):
            body = orjson.loads(r.content) if r.content else None
        elif media.startswith("text/") or media.endswith("xml"):
            body = r.text
        return Answer(r.status_code, body, media, r.headers)

    async def get(self, session: WebSession, path: str, **kw: Any) -> Answer:
        return await self.call(session, "GET", path, **kw)

    async def post(self, session: WebSession, path: str, **kw: Any) -> Answer:
        return await self.call(session, "POST", path, **kw)

    async def aclose(self) -> None:
        await self._client.aclose()
