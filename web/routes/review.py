"""Clerical review: the queue of doubtful links (GET /links/review, ranked by what is at stake),
two persons side by side, the match-weight waterfall of a pair of their records, and Same /
Different / Not sure with a reason.

An item of the queue is settled through the queue's own route (POST /links/review/decisions: a
pair no longer queued is refused with the API's reason); any other pair (two person ids ticked in
search, or two record ids) through POST /links/decisions, as ``intel decide``. "Not sure" changes
nothing and is recorded in the audit log. A decision form carries a one-time id, so a double
submit records one decision.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from core.person_ids import MalformedPersonId, parse_person_id
from web.pages import (PREFIX, PageError, audit, backend, check, checked_form, redirect, render, sessions,
                       with_purpose)
from web.sessions import WebSession, new_form_id

router = APIRouter()
DECISIONS = {"same": "Same person", "different": "Different people", "not_sure": "Not sure"}
QUEUE_PAGE = 25


async def _side(request: Request, session: WebSession, person_id: str) -> dict[str, Any]:
    api = backend(request)
    record = check(request, await api.get(session, f"/persons/{quote(person_id)}"), f"Person {person_id}")
    chron = check(request, await api.get(session, f"/persons/{quote(record['person_id'])}/chronology",
                                         params={"limit": 1}), f"Person {person_id}")
    return {"record": record, "header": chron["person"]}


@router.get("/review")
async def review(request: Request, session: WebSession = Depends(with_purpose)) -> Response:
    qp = request.query_params
    picked = [p.strip() for p in qp.getlist("pick") if p.strip()][:3]
    pa = (qp.get("pa") or (picked[0] if picked else "")).strip()[:64]
    pb = (qp.get("pb") or (picked[1] if len(picked) > 1 else "")).strip()[:64]
    a, b = (qp.get("a") or "").strip()[:200], (qp.get("b") or "").strip()[:200]
    item = (qp.get("item") or "").strip()[:200]
    errors: dict[str, str] = {}
    queue = None
    if not (pa or pb or a or b or picked):
        every = qp.get("all") == "1"   # the band's links with nothing at stake too
        answer = await backend(request).get(session, "/links/review",
                                            params={"limit": QUEUE_PAGE, "all": "true" if every else "false"})
        queue = check(request, answer, "Review queue")
    if picked and len(picked) != 2:
        errors["form"] = "Tick exactly two people to compare."
    sides = {}
    for key, pid in (("pa", pa), ("pb", pb)):
        if pid:
            try:
                parse_person_id(pid, f"Person {key[-1].upper()}")
            except MalformedPersonId as exc:   # said beside the form, not a page of its own
                errors["form"] = str(exc)
                continue
            sides[key] = await _side(request, session, pid)
    if pa and pb and pa == pb:
        errors["form"] = "Those are the same person id: choose two different people."
    if sides.get("pa") and sides.get("pb"):   # default pair: the first record of each
        a = a or sides["pa"]["record"]["mentions"][0]["mention_id"]
        b = b or sides["pb"]["record"]["mentions"][0]["mention_id"]
    explain = None
    if a and b:
        if a == b:
            errors["pair"] = "Choose two different records."
        else:
            answer = await backend(request).get(session, "/links/explain", params={"a": a, "b": b})
            if answer.ok:
                explain = answer.body
            elif answer.status in (400, 404, 422):
                errors["explain"] = answer.detail
            else:
                check(request, answer, "Explanation")
    return render(request, "review.html", status=400 if errors.get("form") or errors.get("pair") else 200,
                  pa=pa, pb=pb, a=a, b=b, item=item, queue=queue, sides=sides, explain=explain, errors=errors,
                  decisions=DECISIONS,
                  form_id=new_form_id(), notice=qp.get("done"), waterfall=_waterfall(explain))


@router.post("/review")
async def decide(request: Request, session: WebSession = Depends(with_purpose)) -> Response:
    form = await checked_form(request, session)
    a, b = form.get("a", "").strip(), form.get("b", "").strip()
    decision, reason = form.get("decision", ""), " ".join(form.get("reason", "").split())
    item = form.get("item", "").strip()
    back = {k: form.get(k, "") for k in ("pa", "pb", "a", "b", "item") if form.get(k)}
    if decision not in DECISIONS:
        raise PageError(400, "Decision: not accepted", "Choose Same person, Different people or Not sure.")
    if not (a and b) or a == b:
        raise PageError(400, "Decision: not accepted", "A decision needs two different record ids.")
    if not reason:
        raise PageError(400, "Decision: not accepted", "Give a reason: it is recorded with the decision.")
    # settled from the queue: back to the queue; any other pair: back to the pair
    url = f"{PREFIX}/review?" + ("queue=1" if item else urlencode(back))
    if not sessions(request).first_use(session, form.get("form_id")):
        return redirect(url + "&done=" + quote("This decision was already recorded (the form was sent twice)."))
    if decision == "not_sure":   # nothing changes; the judgement is recorded in the audit log
        audit(request, session, action="review", status=200, subject_kind="mention_pair",
              subject_id="|".join(sorted((a, b))), decision="not_sure", reason=reason)
        return redirect(url + "&done=" + quote("Recorded as not sure: the records stay as they are."))
    route = "/links/review/decisions" if item else "/links/decisions"
    answer = await backend(request).post(session, route, json={
        "mention_a": a, "mention_b": b, "decision": decision, "reason": reason})
    if answer.status == 409:   # no longer queued, or contradicts earlier decisions: the API says which
        return redirect(url + "&done=" + quote(f"Not recorded: {answer.detail}"))
    body = check(request, answer, "Decision")
    if answer.status == 202:
        done = "Queued behind the nightly run in progress; it is applied when the run ends."
    else:
        done = (f"Recorded: {DECISIONS[decision].lower()} "
                f"(persons before {body.get('persons_before')}, after {body.get('persons_after')}).")
    return redirect(url + "&done=" + quote(done))


def _waterfall(explain: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Bars for the waterfall: prior, then each comparison's weight (and TF adjustment), cumulative."""
    if not explain:
        return []
    bars, total = [], float(explain.get("prior", {}).get("match_weight") or explain.get("prior_weight") or 0.0)
    bars.append({"label": "prior (before any comparison)", "weight": total, "start": 0.0, "end": total,
                 "detail": "how often two records match at random", "values": ""})
    for c in explain.get("comparisons", []):
        w = float(c.get("match_weight") or 0.0) + float(c.get("tf_adjustment_weight") or 0.0)
        level = str(c.get("level") or "")
        detail = "no match at any level" if level == "All other comparisons" else level
        values = f"A: {_plain(c.get('value_a'))} · B: {_plain(c.get('value_b'))}"
        bars.append({"label": (c.get("comparison") or "").replace("_", " "), "weight": w, "start": total,
                     "end": total + w, "detail": detail, "values": values})
        total += w
    span = max(max(abs(x["start"]), abs(x["end"])) for x in bars) or 1.0
    for x in bars:
        lo, hi = sorted((x["start"], x["end"]))
        x["left"], x["width"] = round(50 + 50 * lo / span, 2), max(round(50 * (hi - lo) / span, 2), 0.4)
    return bars


def _plain(value: Any) -> str:
    """A compared value as a person would write it: the first of Splink's composite values."""
    if value is None:
        return "(none)"
    if isinstance(value, (list, tuple)):
        value = value[0] if value else "(none)"
    text = str(value)
    return text.split(", ")[0] if text.startswith(("[", "(")) is False and ", " in text else text
