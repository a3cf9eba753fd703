"""The Metrics page: the hub performance metrics (issue 17's GET /metrics), aggregates only.

The page holds the period form and the API's printable report (charts with a table under each)
in a frame; CSV (the long shape Excel and Power BI read) and the report itself download as they
are. No purpose is asked: no personal data is read out (the API audits each request all the same).
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from web.pages import PageError, backend, check, render, signed_in
from web.sessions import WebSession

router = APIRouter()
PERIODS = ("month", "quarter")


def _query(request: Request) -> tuple[dict[str, str], dict[str, str]]:
    qp = request.query_params
    q = {"from": (qp.get("from") or "").strip()[:10], "to": (qp.get("to") or "").strip()[:10],
         "by": qp.get("by") or "month"}
    errors = {}
    for key, label in (("from", "From"), ("to", "To")):
        if q[key]:
            try:
                date.fromisoformat(q[key])
            except ValueError:
                errors[key] = f"{label}: '{q[key]}' is not a date; use the date picker or YYYY-MM-DD."
    if q["from"] and q["to"] and not errors and q["from"] > q["to"]:
        errors["to"] = "To: the end date is before the start date."
    if q["by"] not in PERIODS:
        errors["by"] = "By: month or quarter."
    return q, errors


@router.get("/metrics")
async def metrics(request: Request, session: WebSession = Depends(signed_in)) -> Response:
    q, errors = _query(request)
    if not errors:   # the API's own check of the range (and the role's right) before the frame asks
        answer = await backend(request).get(session, "/metrics", params={**q, "format": "json"}, personal=False)
        if answer.status == 400:
            errors["form"] = answer.detail
        else:
            check(request, answer, "Metrics")
    return render(request, "metrics.html", status=400 if errors else 200, q=q, errors=errors,
                  query=request.url.query)


@router.get("/metrics/report.{fmt}")
async def report(request: Request, fmt: str, session: WebSession = Depends(signed_in)) -> Response:
    if fmt not in ("html", "csv"):
        raise PageError(404, "Not found", f"There is no '{fmt[:10]}' report; choose html or csv.")
    q, errors = _query(request)
    if errors:
        raise PageError(400, "Metrics: not accepted", " ".join(errors.values()))
    body = check(request, await backend(request).get(session, "/metrics", params={**q, "format": fmt},
                                                     personal=False), "Metrics")
    headers = {"Cache-Control": "no-store"}
    if fmt == "csv":
        headers["Content-Disposition"] = 'attachment; filename="hub-metrics.csv"'
    return Response(body, media_type="text/csv; charset=utf-8" if fmt == "csv" else "text/html; charset=utf-8",
                    headers=headers)
