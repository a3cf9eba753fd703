"""Search, the person page (header, chronology as timeline and table, CSV, print view) and the
household chronology."""

from __future__ import annotations

import asyncio
import re
from datetime import date
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from web.pages import PREFIX, SOURCES, PageError, backend, check, redirect, render, rights, with_purpose
from web.sessions import WebSession

router = APIRouter()
PERSON_ID = Path(..., min_length=1, max_length=64)
_POSTCODE = re.compile(r"^[A-Za-z0-9 ]{2,10}$")


def _date(value: str | None, label: str, errors: dict[str, str], key: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        errors[key] = f"{label}: '{value[:20]}' is not a date; use the date picker or YYYY-MM-DD."
        return None


# -- search ---------------------------------------------------------------------------------------
@router.get("/search")
async def search(request: Request, session: WebSession = Depends(with_purpose)) -> Response:
    if "search" not in rights(request, session):
        raise PageError(403, "Not available to your role", f"The {session.role} role may not search the population.")
    q = {k: (request.query_params.get(k) or "").strip()[:100] for k in ("forename", "surname", "dob", "postcode")}
    asked = "go" in request.query_params
    errors: dict[str, str] = {}
    _date(q["dob"], "Birth date", errors, "dob")
    if q["postcode"] and not _POSTCODE.match(q["postcode"]):
        errors["postcode"] = "Postcode: letters, digits and a space only (e.g. NB1 4QL)."
    if asked and not errors and sum(1 for v in q.values() if v) < 2:
        errors["form"] = "Fill in at least two of forename, surname, birth date and postcode."
    results = None
    if asked and not errors:
        answer = await backend(request).get(session, "/persons", params={**q, "limit": 50})
        if answer.status in (400, 422):
            errors["form"] = answer.detail
        else:
            results = check(request, answer, "Search")
            await _enrich(request, session, results["items"][:ENRICHED])
    return render(request, "search.html", status=400 if errors and asked else 200, q=q, errors=errors,
                  results=results)


ENRICHED = 20   # results shown with agencies, last event and link confidence (two API reads each)


async def _enrich(request: Request, session: WebSession, items: list[dict[str, Any]]) -> None:
    """Agencies, records, last event and the weakest link of each of the first results."""
    api = backend(request)

    async def one(item: dict[str, Any]) -> None:
        pid = quote(item["person_id"])
        chron, record = await asyncio.gather(api.get(session, f"/persons/{pid}/chronology", params={"limit": 1}),
                                             api.get(session, f"/persons/{pid}"))
        if chron.ok:
            head = chron.body["person"]
            item["agencies"] = head.get("counts_by_agency", {})
            item["last_seen"] = head.get("last_seen")
        if record.ok:
            probs = [m["link_probability"] for m in record.body.get("mentions", []) if m.get("link_probability") is not None]
            item["weakest_link"] = min(probs) if probs else None

    await asyncio.gather(*(one(i) for i in items))


# -- person ---------------------------------------------------------------------------------------
def chronology_filters(request: Request) -> tuple[dict[str, Any], dict[str, str], dict[str, Any]]:
    """(the API's query parameters, errors by field, the form's values) from the page's query."""
    qp = request.query_params
    errors: dict[str, str] = {}
    d_from = _date(qp.get("from"), "From", errors, "from")
    d_to = _date(qp.get("to"), "To", errors, "to")
    if d_from and d_to and d_from > d_to:
        errors["to"] = "To: the end date is before the start date."
    chosen = [s for s in qp.getlist("source") if s in SOURCES]
    harm = qp.get("harm_only") in ("1", "true", "on")
    params = {"from": d_from, "to": d_to, "sources": ",".join(chosen) if chosen and len(chosen) < len(SOURCES) else None,
              "harm_only": "true" if harm else None}
    form = {"from": qp.get("from", ""), "to": qp.get("to", ""), "sources": chosen or list(SOURCES), "harm_only": harm}
    return params, errors, form


async def person_parts(request: Request, session: WebSession, person_id: str, params: dict[str, Any]
                       ) -> tuple[dict[str, Any], dict[str, Any] | None, dict[str, str]]:
    """(the chronology with every entry, the person's records or None for a role without that
    right, the names of the people around them by person id, as the role may see them)."""
    api = backend(request)
    chron = check(request, await api.get(session, f"/persons/{quote(person_id)}/chronology",
                                          params={**params, "limit": 500}), f"Person {person_id}")
    events = chron["events"]["items"]
    offset = 500
    while chron["events"].get("next") and offset < 20_000:
        more = check(request, await api.get(session, f"/persons/{quote(person_id)}/chronology",
                                             params={**params, "limit": 500, "offset": offset}), "Chronology")
        events += more["events"]["items"]
        chron["events"]["next"], offset = more["events"].get("next"), offset + 500
    chron["entries"] = events
    resolved, allowed = quote(chron["person"]["person_id"]), rights(request, session)
    record_answer, network_answer = await asyncio.gather(
        api.get(session, f"/persons/{resolved}") if "person" in allowed else _nothing(),
        api.get(session, f"/persons/{resolved}/network", params={"hops": 1}) if "network" in allowed else _nothing())
    record = check(request, record_answer, f"Person {person_id}") if record_answer else None
    names = {}
    if network_answer is not None and network_answer.ok:   # the names of the others, as the network shows them
        names = {n["data"]["person_id"]: n["data"]["label"] for n in network_answer.body["elements"]["nodes"]
                 if n["data"].get("type") == "person"}
    return chron, record, names


async def _nothing() -> None:
    return None


@router.get("/person/{person_id}")
async def person(request: Request, person_id: str = PERSON_ID, session: WebSession = Depends(with_purpose)) -> Response:
    params, errors, form = chronology_filters(request)
    if errors:
        params = {}
    chron, record, names = await person_parts(request, session, person_id, params)
    return render(request, "person.html", status=400 if errors else 200, chron=chron, header=chron["person"],
                  record=record, names=names, errors=errors, form=form, query=request.url.query,
                  timeline=_timeline(chron["entries"]))


@router.get("/person/{person_id}/chronology.csv")
async def person_csv(request: Request, person_id: str = PERSON_ID,
                     session: WebSession = Depends(with_purpose)) -> Response:
    params, errors, _ = chronology_filters(request)
    if errors:
        raise PageError(400, "Chronology: not accepted", " ".join(errors.values()))
    answer = await backend(request).get(session, f"/persons/{quote(person_id)}/chronology",
                                        params={**params, "format": "csv"})
    body = check(request, answer, f"Person {person_id}")
    return Response(body, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="chronology-{person_id}.csv"', "Cache-Control": "no-store"})


@router.get("/person/{person_id}/print")
async def person_print(request: Request, person_id: str = PERSON_ID,
                       session: WebSession = Depends(with_purpose)) -> Response:
    params, errors, form = chronology_filters(request)
    if errors:
        raise PageError(400, "Chronology: not accepted", " ".join(errors.values()))
    chron, _, names = await person_parts(request, session, person_id, params)
    # paper leaves the hub as exports do: hub_only records are never printed
    chron["entries"] = [e for e in chron["entries"] if e.get("restriction") != "hub_only"]
    return render(request, "print.html", chron=chron, header=chron["person"], form=form, title="Chronology",
                  names=names)


@router.get("/household/{household_key:path}")
async def household(request: Request, household_key: str, session: WebSession = Depends(with_purpose)) -> Response:
    if not household_key or len(household_key) > 400:
        raise PageError(404, "Household not found", "No household key was given.")
    params, errors, form = chronology_filters(request)
    if errors:
        params = {}
    chron = check(request, await backend(request).get(
        session, f"/households/{quote(household_key, safe='')}/chronology", params={**params, "limit": 500}),
        "Household")
    chron["entries"] = chron["events"]["items"]
    return render(request, "household.html", status=400 if errors else 200, chron=chron,
                  header=chron.get("household", {}), key=household_key,
                  names={a["person_id"]: a["name"] for a in chron.get("household", {}).get("aliases", [])}, errors=errors, form=form,
                  timeline=_timeline(chron["entries"]))


def _timeline(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Where each event sits on a horizontal time axis (per cent of the span), one lane per agency."""
    dated = [e for e in entries if e.get("kind") == "event" and e.get("event_date")]
    if not dated:
        return {"lanes": [], "ticks": []}
    days = [date.fromisoformat(e["event_date"][:10]) for e in dated]
    first, last = min(days), max(days)
    span = max((last - first).days, 1)
    lanes: dict[str, list[dict[str, Any]]] = {}
    for e, d in zip(dated, days):
        lanes.setdefault(e["source"], []).append({"x": round(2 + 96 * (d - first).days / span, 2), "date": str(d),
                                                  "harm": bool(e.get("harm")), "label": e.get("event_type", ""),
                                                  "role": e.get("role", "")})
    ticks = sorted({date(y, 1, 1) for y in range(first.year, last.year + 2)} | {first, last})
    ticks = [t for t in ticks if first <= t <= last]
    return {"lanes": [(s, lanes[s]) for s in SOURCES if s in lanes],
            "ticks": [{"x": round(2 + 96 * (t - first).days / span, 2), "label": str(t)} for t in ticks][:12]}


@router.get("/open")
async def open_person(request: Request, person_id: str = "", session: WebSession = Depends(with_purpose)) -> Response:
    """The home page's "open a person" form (for a role that may not search)."""
    pid = person_id.strip()
    if not pid or len(pid) > 64:
        raise PageError(400, "Open a person: not accepted", "Give a person id, e.g. P00000042.")
    return redirect(f"{PREFIX}/person/{quote(pid, safe='')}")
