"""The alert queue (filters: rule, status, possible), each alert's reasons and evidence linked to
the records, and acknowledge / close with a reason."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from web.pages import PREFIX, PageError, backend, check, checked_form, redirect, render, sessions, with_purpose
from web.sessions import WebSession, new_form_id

router = APIRouter()
# the API's statuses (findings/alerts.py): 'open' is new, baseline (the first load) and acknowledged
STATUSES = ("open", "new", "baseline", "acknowledged", "closed", "all")
PAGE = 50   # alerts a page (each with its evidence and its form)
ALERT_ID = Path(..., min_length=1, max_length=64)


def _rules(request: Request) -> list[str]:
    return sorted(request.app.state.config.get("alerts", {}).get("rules", {}))


@router.get("/alerts")
async def alerts(request: Request, session: WebSession = Depends(with_purpose)) -> Response:
    qp = request.query_params
    status = qp.get("status") or "open"
    rule = qp.get("rule") or None
    possible = qp.get("possible") or "any"
    if status not in STATUSES:
        raise PageError(400, "Alerts: not accepted", f"status must be one of {', '.join(STATUSES)}.")
    if possible not in ("any", "possible", "confirmed"):
        raise PageError(400, "Alerts: not accepted", "possible must be any, possible or confirmed.")
    try:
        offset = max(0, int(qp.get("offset") or 0))
    except ValueError:
        raise PageError(400, "Alerts: not accepted", "offset must be a whole number.") from None
    page = check(request, await backend(request).get(session, "/alerts", params={
        "status": status, "rule": rule, "limit": PAGE, "offset": offset,
        # issue 14's possible alerts (resting on links in review), filtered by the API so paging holds
        "possible": {"possible": "true", "confirmed": "false"}.get(possible)}), "Alerts")
    items: list[dict[str, Any]] = page["items"]
    return render(request, "alerts.html", items=items, alert_status=status, rule=rule or "", possible=possible,
                  rules=_rules(request), offset=offset, page=PAGE, more=bool(page.get("next")), form_id=new_form_id,
                  total=page.get("total"),
                  notice=qp.get("done"))


@router.post("/alerts/{alert_id}/{action}")
async def act(request: Request, action: str, alert_id: str = ALERT_ID,
              session: WebSession = Depends(with_purpose)) -> Response:
    form = await checked_form(request, session)
    if action not in ("acknowledge", "close"):
        raise PageError(404, "Not found", f"'{action[:20]}' is not something an alert can be.")
    reason = " ".join(form.get("reason", "").split())
    back = form.get("back", "")
    back = back if back.startswith(f"{PREFIX}/alerts") else f"{PREFIX}/alerts"
    if not reason:
        raise PageError(400, f"Alert {alert_id}: not accepted", "Give a reason: it is recorded on the alert.")
    if not sessions(request).first_use(session, form.get("form_id")):
        return redirect(_with(back, f"{alert_id} was already {action}d (the form was sent twice)"))
    answer = await backend(request).post(session, f"/alerts/{quote(alert_id)}/{action}", json={"reason": reason})
    if answer.status == 409:
        return redirect(_with(back, f"{alert_id}: {answer.detail}"))
    check(request, answer, f"Alert {alert_id}")
    return redirect(_with(back, f"{alert_id} {action}d"))


def _with(url: str, notice: str) -> str:
    return url + ("&" if "?" in url else "?") + "done=" + quote(notice)
