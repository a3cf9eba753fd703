"""The nightly runs: status, timings, counts and failures (the admin role's page)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from web.pages import backend, check, render, signed_in
from web.sessions import WebSession

router = APIRouter()


@router.get("/runs")
async def runs(request: Request, session: WebSession = Depends(signed_in)) -> Response:
    page = check(request, await backend(request).get(session, "/runs", params={"limit": 50}, personal=False), "Runs")
    return render(request, "runs.html", items=page["items"])


@router.get("/runs/{run_id}")
async def run(request: Request, run_id: str = Path(..., min_length=1, max_length=64),
              session: WebSession = Depends(signed_in)) -> Response:
    body: dict[str, Any] = check(request, await backend(request).get(session, f"/runs/{quote(run_id)}",
                                                                     personal=False), f"Run {run_id}")
    report = body.get("report") or {}
    stages = report.get("stages") if isinstance(report, dict) else None
    return render(request, "run.html", run=body, report=report, stages=stages if isinstance(stages, dict) else {})
