"""``GET /health``: is the service up (no authentication, no personal data)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.routes.common import ok

router = APIRouter(tags=["service"])


@router.get("/health", summary="Is the service up (no auth)")
def health(request: Request) -> Response:
    state = request.app.state
    return ok({"status": "ok", "run_in_progress": state.runs.current_run is not None,
               "snapshot": state.snapshot.status(), "review_queue": state.review_queue.status(),
               "alert_queue": state.alert_queue.status()})
