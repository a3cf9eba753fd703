"""The nightly runs: status, timings, counts and failures (the admin role's page)."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from web.pages import backend, check, render, signed_in
from web.sessions import WebSession

router = APIRouter()


@router.get("/runs")
async def runs(request: Request, session: WebSession = Depends(signed_in)) -> Response:
    api = backend(request)
    page = check(request, await api.get(session, "/runs", params={"limit": 30}, personal=False), "Runs")
    details = await asyncio.gather(*(api.get(session, f"/runs/{quote(r['run_id'])}", personal=False)
                                     for r in page["items"]))
    items = [{**r, **summary(d.body.get("report") if d.ok else None)} for r, d in zip(page["items"], details)]
    return render(request, "runs.html", items=items)


def summary(report: dict[str, Any] | None) -> dict[str, Any]:
    """A run report's headline figures: how long, rows in and refused, persons, findings, alerts."""
    if not isinstance(report, dict):
        return {}
    stages = report.get("stages") or {}
    return {"took": report.get("seconds"), "loaded": report.get("loaded_rows"), "rejected": report.get("rejected_rows"),
            "persons": (stages.get("link") or {}).get("persons_active"),
            "findings": (stages.get("analytics") or {}).get("total"), "new_alerts": report.get("new_alerts")}


@router.get("/runs/{run_id}")
async def run(request: Request, run_id: str = Path(..., min_length=1, max_length=64),
              session: WebSession = Depends(signed_in)) -> Response:
    body: dict[str, Any] = check(request, await backend(request).get(session, f"/runs/{quote(run_id)}",
                                                                     personal=False), f"Run {run_id}")
    report = body.get("report") or {}
    stages = report.get("stages") if isinstance(report, dict) else None
    return render(request, "run.html", run=body, report=report, stages=stages if isinstance(stages, dict) else {})
