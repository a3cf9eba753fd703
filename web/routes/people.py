"""The person page: header, the chronology as timeline and table (filters), its CSV and print view."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from core.person_ids import MalformedPersonId, parse_person_id
from views.chronology_export import export_view
from web.chronology_view import chronology_filters, timeline
from web.pages import PREFIX, PageError, backend, check, redirect, render, rights, with_purpose
from web.sessions import WebSession

router = APIRouter()
PERSON_ID = Path(..., min_length=1, max_length=64)


async def person_parts(request: Request, session: WebSession, person_id: str, params: dict[str, Any],
                       record: bool = True) -> tuple[dict[str, Any], dict[str, Any] | None, dict[str, str]]:
    """(the chronology with every entry, the person's records or None for a role without that
    right or when not asked for, the names of the people around them by person id, as the role may
    see them)."""
    api = backend(request)
    pid, allowed = quote(person_id), rights(request, session)
    # one round trip, not three in turn: a merged or forbidden id is answered alike by all three
    chron_answer, record_answer, network_answer = await asyncio.gather(
        api.get(session, f"/persons/{pid}/chronology", params={**params, "limit": 500}),
        api.get(session, f"/persons/{pid}") if record and "person" in allowed else _nothing(),
        api.get(session, f"/persons/{pid}/network", params={"hops": 1}) if "network" in allowed else _nothing())
    chron = check(request, chron_answer, f"Person {person_id}")
    events = chron["events"]["items"]
    offset = 500
    while chron["events"].get("next") and offset < 20_000:
        more = check(request, await api.get(session, f"/persons/{pid}/chronology",
                                             params={**params, "limit": 500, "offset": offset}), "Chronology")
        events += more["events"]["items"]
        chron["events"]["next"], offset = more["events"].get("next"), offset + 500
    chron["entries"] = events
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
                  timeline=timeline(chron["entries"]))


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
    # paper leaves the hub as exports do: hub_only records are never printed, nor what only they
    # support (names, addresses, counts in the header): the export view the API's csv uses
    exported = export_view({"person": chron["person"], "events": chron["entries"], "viewer": chron.get("viewer", {})})
    chron = {**chron, "person": exported["person"], "entries": exported["events"]}
    return render(request, "print.html", chron=chron, header=chron["person"], form=form, title="Chronology",
                  names=names)


@router.get("/open")
async def open_person(request: Request, person_id: str = "", session: WebSession = Depends(with_purpose)) -> Response:
    """The home page's "open a person" form (for a role that may not search)."""
    try:
        pid = parse_person_id(person_id)
    except MalformedPersonId as exc:
        raise PageError(400, "Open a person: not accepted", str(exc)) from None
    return redirect(f"{PREFIX}/person/{quote(pid, safe='')}")
