"""Alerts: the triaged queue (filters checked, a total), and acknowledging or closing one.

A MARAC coordinator (a role with ``domestic_abuse_only``) lists the marac_criteria and escalation
alerts of people with a domestic-abuse record, and acts on none (the hub does). Every alert comes
through the viewer's lens (access/lens.py): one whose evidence names a record they may not see in
full is left out (and not counted), and its evidence in words is read only from records they see.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from access.lens import Lens
from api.problems import Problem
from api.routes.common import PageQuery, ok, page, path_id
from api.security import Principal, add_detail, db, guard, set_subject
from core.store import Store
from findings.alert_queue import marac_scope
from findings.alerts import act_on_alert, list_alerts

router = APIRouter(tags=["alerts"])


class AlertsQuery(PageQuery):
    # checked by findings.alerts.check_filters: an unknown value is a 400 naming the choices
    status: str | None = Field(None, max_length=32, description="new, baseline, acknowledged, closed, open or all")
    rule: str | None = Field(None, max_length=64, description="One rule, e.g. repeat_victim")
    severity: str | None = Field(None, max_length=16, description="low, medium or high")
    person_id: str | None = Field(None, max_length=64,
                                  description="Alerts naming this person (a merged id finds its survivor's)")
    possible: bool | None = Field(None, description="true: only possible alerts (resting on links in review); "
                                                    "false: only confirmed ones")


class AlertAction(BaseModel):
    reason: str = Field(..., min_length=1, max_length=2000, description="Why (recorded on the alert).")


def marac_lens(store: Store, lens: Lens = Lens.of(health_clearance=False, export=True)) -> dict[str, Any]:
    """What a MARAC coordinator's queue holds (findings.alert_queue.marac_scope): marac_criteria and
    escalation alerts about people with a domestic-abuse record they see through ``lens``."""
    return marac_scope(store, lens)


def _lens(who: Principal) -> Lens:
    """The viewer's lens on alerts: no health detail without clearance; MARAC's as an export's."""
    return Lens.of(health_clearance=who.health_clearance, export=who.domestic_abuse_only)


@router.get("/alerts", summary="Alerts, strongest first (severity, score, newest)")
def alerts(request: Request, q: Annotated[AlertsQuery, Query()], who: Principal = Depends(guard("alerts")),
           store: Store = Depends(db)) -> Response:
    set_subject(request, "alert", None, status=q.status, rule=q.rule, person_id=q.person_id, possible=q.possible)
    lens = _lens(who)
    asked = dict(status=q.status, rule=q.rule, severity=q.severity, person_id=q.person_id, possible=q.possible,
                 limit=q.limit, offset=q.offset, config=request.app.state.config, lens=lens)
    # the queue of this state from memory (api/alert_cache.py); from SQL while it is read again
    queue = request.app.state.alert_queue.current(lens)
    found = None
    if queue is not None:
        found = queue.page(store, **asked, **(queue.marac_scope(store, lens) if who.domestic_abuse_only else {}))
    if found is None:
        found = list_alerts(store, **asked, with_total=True, **(marac_lens(store, lens) if who.domestic_abuse_only else {}))
    add_detail(request, returned=[a["alert_id"] for a in found["items"]])
    return ok(page(request, found["items"], q.limit, q.offset, found["total"]))


def _act(request: Request, alert_id: str, action: str, body: AlertAction, who: Principal, store: Store) -> Response:
    set_subject(request, "alert", alert_id, action=action)
    if who.domestic_abuse_only:   # a MARAC coordinator lists their alerts; the hub acts on them
        raise Problem(403, "forbidden-role", f"the {who.role} role may list alerts but not act on them")
    # through the actor's lens: an alert left out of their list is unknown to them here too
    result = act_on_alert(store, alert_id, action, who.name, body.reason, lens=_lens(who))
    request.app.state.snapshot.invalidate(alerts_only=True)   # a chronology's header lists open alerts
    return ok(result)


@router.post("/alerts/{alert_id}/acknowledge", summary="Acknowledge a new or baseline alert")
def acknowledge(request: Request, body: AlertAction, alert_id: str = path_id(),
                who: Principal = Depends(guard("alerts")), store: Store = Depends(db)) -> Response:
    return _act(request, alert_id, "acknowledge", body, who, store)


@router.post("/alerts/{alert_id}/close", summary="Close an acknowledged alert")
def close(request: Request, body: AlertAction, alert_id: str = path_id(),
          who: Principal = Depends(guard("alerts")), store: Store = Depends(db)) -> Response:
    return _act(request, alert_id, "close", body, who, store)
