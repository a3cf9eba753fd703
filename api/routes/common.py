"""What the route modules share: JSON answers, paging, query models, path ids, and running a
route's work on the event loop or in a worker thread."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio.to_thread
from fastapi import Path as PathParam, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api.problems import PROBLEM_MEDIA, ProblemModel, dumps
from api.security import Principal

ERRORS = {s: {"model": ProblemModel, "content": {PROBLEM_MEDIA: {}}} for s in (400, 401, 403, 404, 409, 422, 500)}


def path_id() -> Any:
    return PathParam(..., min_length=1, max_length=64)


def ok(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(obj), status_code=status, media_type="application/json", headers=headers)


def page(request: Request, items: list[Any], limit: int, offset: int, total: int | None,
         more: bool | None = None) -> dict[str, Any]:
    has_more = more if more is not None else (total is not None and offset + limit < total)
    nxt = str(request.url.include_query_params(offset=offset + limit, limit=limit)) if has_more else None
    return {"limit": limit, "offset": offset, "total": total, "next": nxt, "items": items}


# Query parameters, a model per route: FastAPI validates a model in one pydantic call, where
# separate parameters and a paging dependency cost ~0.2 ms a request between them.

class PageQuery(BaseModel):
    limit: int = Field(50, ge=1, le=500, description="Page size.")
    offset: int = Field(0, ge=0, le=10_000_000, description="Items to skip.")


async def in_memory_or_thread(in_memory: bool, who: Principal, work: Callable[[], Response]) -> Response:
    """Run ``work`` on the event loop when it reads memory only (the snapshot is current and the
    role needs no SQL check: marac's domestic-abuse check is SQL), else in a worker thread. A
    chronology from memory takes ~0.5 ms of Python, less than the hop to a thread and back
    costs; Python in a thread would hold the GIL all the same. DuckDB work never blocks the loop."""
    if in_memory and not who.domestic_abuse_only:
        return work()
    return await anyio.to_thread.run_sync(work)
