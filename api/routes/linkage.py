"""Linkage: people's decisions on pairs of records, and why two records are (not) linked."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api.routes.common import ok, path_id
from api.security import Principal, add_detail, db, guard, set_subject
from core.store import Store
from linkage.explain import explain_pair
from views.explanation import in_words as explanation_in_words, to_html as explanation_html

router = APIRouter(tags=["linkage"])


class Decision(BaseModel):
    mention_a: str = Field(..., min_length=1, max_length=200, description="SOURCE:RECORD_ID")
    mention_b: str = Field(..., min_length=1, max_length=200, description="SOURCE:RECORD_ID")
    decision: Literal["same", "different"]
    reason: str = Field(..., min_length=1, max_length=2000)


@router.post("/links/decisions",
             summary="Two records are the same person, or different people (applied now, or queued behind a run)")
def decisions(request: Request, body: Decision, who: Principal = Depends(guard("decide")),
              store: Store = Depends(db)) -> Response:
    a, b = sorted((body.mention_a.strip(), body.mention_b.strip()))
    set_subject(request, "mention_pair", f"{a}|{b}", decision=body.decision)
    status, result = request.app.state.runs.decide(store, a, b, body.decision, who.name, body.reason)
    if status == 200:
        add_detail(request, persons_before=result.get("persons_before"), persons_after=result.get("persons_after"),
                   decision_id=result.get("decision_id"))
    else:
        add_detail(request, queue_id=result["queue_id"])
    return ok(result, status)


@router.get("/links/decisions/queued/{queue_id}",
            summary="A decision queued behind a run: applied or refused, once the run ended")
def queued_decision(request: Request, queue_id: str = path_id(), who: Principal = Depends(guard("decide")),
                    store: Store = Depends(db)) -> Response:
    row = request.app.state.runs.queued(store, queue_id)
    set_subject(request, "mention_pair", f"{row['mention_a']}|{row['mention_b']}", queue_id=queue_id)
    return ok(row)


@router.get("/links/explain", summary="Why two records are (or are not) linked: in words, and the weights")
def explain(request: Request, a: str = Query(..., min_length=1, max_length=200),
            b: str = Query(..., min_length=1, max_length=200),
            format: Literal["json", "html"] = Query("json", description="json, or html: a printable page in words"),
            who: Principal = Depends(guard("explain")), store: Store = Depends(db)) -> Response:
    set_subject(request, "mention_pair", "|".join(sorted((a, b))))
    report = explain_pair(store, a, b)
    report["in_words"] = explanation_in_words(store, report)
    if format == "html":
        return Response(explanation_html(report["in_words"]), media_type="text/html; charset=utf-8")
    return ok(report)
