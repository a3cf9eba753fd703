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
from findings.alert_config import MARAC_RULES
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
    """What a MARAC coordinator's queue holds: marac_criteria and escalation alerts about people
    with a domestic-abuse record they see (``lens``, theirs: as access.lens.has_domestic_abuse
    decides whether they may open a person, so a person whose only such record is hidden from
    them is out of scope, as one with none is; listing an alert about them would say they have one)."""
    people = [r["person_id"] for r in store.rows(
        "SELECT DISTINCT pm.person_id FROM person_mentions pm JOIN mentions m USING (mention_id) "
        f"WHERE m.event_type = 'domestic_abuse' AND {lens.full_sql('m')}")]
    return {"rules": list(MARAC_RULES), "person_ids": people}


@router.get("/alerts", summary="Alerts, strongest first (severity, score, newest)")
def alerts(request: Request, q: Annotated[AlertsQuery, Query()], who: Principal = Depends(guard("alerts")),
           store: Store = Depends(db)) -> Response:
    set_subject(request, "alert", None, status=q.status, rule=q.rule, person_id=q.person_id, possible=q.possible)
    lens = Lens.of(health_clearance=who.health_clearance, export=who.domestic_abuse_only)
    found = list_alerts(store, status=q.status, rule=q.rule, severity=q.severity, person_id=q.person_id,
                        possible=q.possible, limit=q.limit, offset=q.offset, config=request.app.state.config,
                        with_total=True, lens=lens, **(marac_lens(store, lens) if who.domestic_abuse_only else {}))
    add_detail(request, returned=[a["alert_id"] for a in found["items"]])
    return ok(page(request, found["items"], q.limit, q.offset, found["total"]))


def _act(request: Request, alert_id: str, action: str, body: AlertAction, who: Principal, store: Store) -> Response:
    set_subject(request, "alert", alert_id, action=action)
    if who.domestic_abuse_only:   # a MARAC coordinator lists their alerts; the hub acts on them
        raise Problem(403, "forbidden-role", f"the {who.role} role may list alerts but not act on them")
    # through the actor's lens: an alert left out of their list is unknown to them here too
    result = act_on_alert(store, alert_id, action, who.name, body.reason,
                          lens=Lens.of(health_clearance=who.health_clearance, export=who.domestic_abuse_only))
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
