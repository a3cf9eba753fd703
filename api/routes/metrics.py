"""GET /metrics: the hub performance metrics (findings/metrics.py) as JSON, CSV or HTML.

Aggregates only, small counts suppressed as in the CLI's report; the `metrics` right (the
manager role, and analysts). No X-Purpose is asked (no personal data is read out), but every
request is audited like any guarded route. A bad range, period or format is a 400 that says
what is wrong, exactly as the CLI's exit 2 does.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api.problems import dumps
from api.security import Principal, db, guard, set_subject
from core.errors import IntelError
from core.store import Store
from findings.metrics import compute_hub_metrics
from views.metrics_report import FORMATS, render

router = APIRouter(tags=["metrics"])

_MEDIA = {"json": "application/json", "csv": "text/csv; charset=utf-8", "html": "text/html; charset=utf-8"}


class MetricsQuery(BaseModel):
    # plain strings, checked by the library: the same messages as the CLI's, as a 400
    date_from: str | None = Field(None, alias="from", max_length=10, description="First day, YYYY-MM-DD (default: the 1st of the month a year back).")
    date_to: str | None = Field(None, alias="to", max_length=10, description="Last day, YYYY-MM-DD (default: today).")
    by: str = Field("month", max_length=16, description="month or quarter.")
    format: str = Field("json", max_length=8, description="json, csv (long, for Excel / Power BI) or html (printable).")


@router.get("/metrics", summary="Hub performance metrics: aggregates only, small counts suppressed")
def metrics(request: Request, q: Annotated[MetricsQuery, Query()],
            who: Principal = Depends(guard("metrics", personal=False)), store: Store = Depends(db)) -> Response:
    set_subject(request, "metrics", None, **{"from": q.date_from, "to": q.date_to, "by": q.by, "format": q.format})
    if q.format not in FORMATS:
        raise IntelError(f"format {q.format!r} is not a report format; use one of: {', '.join(FORMATS)}")
    report = compute_hub_metrics(store, request.app.state.config, date_from=q.date_from, date_to=q.date_to,
                                 by=q.by, health_clearance=who.health_clearance)
    if q.format == "json":
        return Response(dumps(report), media_type=_MEDIA["json"])
    return Response(render(report, q.format), media_type=_MEDIA[q.format])
