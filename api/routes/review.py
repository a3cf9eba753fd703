"""Routes of the clerical-review queue: list the doubtful links, settle one.

- ``GET /links/review?limit=&offset=&explain=&all=``: the ranked queue (findings/review.py), one
  page: the links on which something is at stake (``all=true``: every link of the band). Each item: ``item_id``, ``mention_a`` / ``mention_b`` (the link; mention_a belongs to
  person_a), ``person_a`` / ``person_b``, ``match_probability``, ``match_weight``,
  ``completes_findings`` ([{rule, group, measure, explanation}]), ``harmed_records``,
  ``latest_event``, ``mentions_a`` / ``mentions_b`` (key mentions side by side, the linked one
  first) and, with ``explain=true``, ``explain`` (the waterfall of GET /links/explain).
- ``POST /links/review/decisions`` {mention_a, mention_b, decision, reason}: settle an item.
  409 when the pair is no longer queued (merged, decided, held apart or rescored out of the band)
  or the decision contradicts earlier ones (naming them); 404 for an unknown record; nothing is
  changed on a refusal. Applied at once, or queued behind a run in progress (202), as
  POST /links/decisions is.

Both need the ``decide`` right (analysts) and an X-Purpose, and are audited: the list records the
items it returned, a decision the persons before and after.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api.routes.common import ok
from api.security import Principal, add_detail, db, guard, set_subject
from findings.possible_alerts import sync_possible_alerts
from core.store import Store
from linkage.explain import explain_pair
from linkage.review import settle_check

router = APIRouter(tags=["review"])


class ReviewQuery(BaseModel):
    limit: int = Field(20, ge=1, le=500)
    offset: int = Field(0, ge=0, le=100_000)
    explain: bool = False
    all: bool = False


class ReviewDecision(BaseModel):
    mention_a: str = Field(..., min_length=1, max_length=200, description="SOURCE:RECORD_ID")
    mention_b: str = Field(..., min_length=1, max_length=200, description="SOURCE:RECORD_ID")
    decision: Literal["same", "different"]
    reason: str = Field(..., min_length=1, max_length=2000)


@router.get("/links/review", summary="Doubtful links for a person to settle, ranked by what is at stake")
def review_list(request: Request, q: Annotated[ReviewQuery, Query()], who: Principal = Depends(guard("decide")),
                store: Store = Depends(db)) -> Response:
    set_subject(request, "review_queue", None, limit=q.limit, offset=q.offset, all=q.all)
    # ranked once per store state (api/review_cache.py): a decision or a run's commit ranks it again
    queue, items = request.app.state.review_queue.page(store, q.offset, q.limit, everything=q.all)
    if q.explain:
        for it in items:
            it["explain"] = explain_pair(store, it["mention_a"], it["mention_b"])
    add_detail(request, returned=[it["item_id"] for it in items])
    nxt = (str(request.url.include_query_params(offset=q.offset + q.limit, limit=q.limit))
           if q.offset + q.limit < queue["total"] else None)
    return ok({**queue, "limit": q.limit, "offset": q.offset, "next": nxt, "items": items})


@router.post("/links/review/decisions", summary="Settle a review item: same person, or different people")
def review_decide(request: Request, body: ReviewDecision, who: Principal = Depends(guard("decide")),
                  store: Store = Depends(db)) -> Response:
    a, b = body.mention_a.strip(), body.mention_b.strip()
    set_subject(request, "mention_pair", "|".join(sorted((a, b))), decision=body.decision, review=True)
    cfg = request.app.state.config
    status, result = request.app.state.runs.decide(
        store, *sorted((a, b)), body.decision, who.name, body.reason,
        precheck=lambda s: settle_check(s, a, b, body.decision, config=cfg))
    if status == 200:
        result["possible_alerts"] = sync_possible_alerts(store, None, cfg)
        request.app.state.snapshot.invalidate(alerts_only=True)   # a chronology's header lists open alerts
        request.app.state.alert_queue.invalidate()                 # possible alerts raised or settled
        add_detail(request, persons_before=result.get("persons_before"), persons_after=result.get("persons_after"),
                   decision_id=result.get("decision_id"))
    else:
        add_detail(request, queue_id=result["queue_id"])
    return ok(result, status)
