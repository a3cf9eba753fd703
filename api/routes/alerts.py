"""Alerts: the queue, and acknowledging or closing one."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api.routes.common import PageQuery, ok, page, path_id
from api.security import Principal, add_detail, db, guard, set_subject
from core.store import Store
from findings.alerts import act_on_alert, list_alerts

router = APIRouter(tags=["alerts"])


class AlertsQuery(PageQuery):
    status: Literal["new", "acknowledged", "closed", "all"] | None = None
    rule: str | None = Field(None, max_length=64)
    possible: bool | None = Field(None, description="true: only possible alerts (resting on links in review); "
                                                    "false: only confirmed ones")


class AlertAction(BaseModel):
    reason: str = Field(..., min_length=1, max_length=2000, description="Why (recorded on the alert).")


@router.get("/alerts", summary="Alerts, newest first")
def alerts(request: Request, q: Annotated[AlertsQuery, Query()], who: Principal = Depends(guard("alerts")),
           store: Store = Depends(db)) -> Response:
    set_subject(request, "alert", None, status=q.status, rule=q.rule, possible=q.possible)
    rows = list_alerts(store, status=q.status, rule=q.rule, limit=q.limit + 1, offset=q.offset, possible=q.possible)
    items = rows[: q.limit]
    add_detail(request, returned=[a["alert_id"] for a in items])
    return ok(page(request, items, q.limit, q.offset, None, more=len(rows) > q.limit))


def _act(request: Request, alert_id: str, action: str, body: AlertAction, who: Principal, store: Store) -> Response:
    set_subject(request, "alert", alert_id, action=action)
    result = act_on_alert(store, alert_id, action, who.name, body.reason)
    request.app.state.snapshot.invalidate(alerts_only=True)   # a chronology's header lists open alerts
    return ok(result)


@router.post("/alerts/{alert_id}/acknowledge", summary="Acknowledge a new alert")
def acknowledge(request: Request, body: AlertAction, alert_id: str = path_id(),
                who: Principal = Depends(guard("alerts")), store: Store = Depends(db)) -> Response:
    return _act(request, alert_id, "acknowledge", body, who, store)


@router.post("/alerts/{alert_id}/close", summary="Close an acknowledged alert")
def close(request: Request, body: AlertAction, alert_id: str = path_id(),
          who: Principal = Depends(guard("alerts")), store: Store = Depends(db)) -> Response:
    return _act(request, alert_id, "close", body, who, store)
