"""Persons: search, a person's record, person and household chronologies, the network view."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Path as PathParam, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from access.lens import Lens
from api.lens import apply_lens
from api.search_details import add_details
from api.routes.common import PageQuery, in_memory_or_thread, ok, page, path_id
from api.security import Principal, add_detail, db, guard, set_subject
from api.subjects import household_access, person_access
from core.errors import IntelError
from core.store import Store
from linkage.identity import person_record
from views.chronology import chronology
from views.chronology_export import to_csv, to_html
from views.chronology_sources import SnapshotReader
from views.network_view import network_view
from views.reference_search import search_by_reference
from views.search import search_persons

router = APIRouter()


class SearchQuery(PageQuery):
    # any one of reference, person_ref, postcode, a name with birth_year; or two of the name/dob/postcode fields
    forename: str | None = Field(None, max_length=100)
    surname: str | None = Field(None, max_length=100)
    dob: str | None = Field(None, max_length=20, description="1993-03-16 or 16/03/1993")
    birth_year: str | None = Field(None, max_length=8, description="With a name, e.g. 1993")
    postcode: str | None = Field(None, max_length=16)
    reference: str | None = Field(None, max_length=140, description=(
        "An agency record reference, SOURCE:RECORD_ID (e.g. police:P00001216): the way to search an "
        "encoded store, which holds no names (docs/encoded-extracts.md). Not combined with the other fields."))
    person_ref: str | None = Field(None, max_length=100, description="An agency's person reference (nominal, council id, NHS-like id)")
    details: int = Field(0, ge=0, le=100, description=(
        "The first this many candidates of the page also carry agencies (events by agency), last_seen "
        "and weakest_link, as their chronology and record would give them to you (api/search_details.py)"))


class ChronologyQuery(PageQuery):
    date_from: date | None = Field(None, alias="from", description="Only entries on or after this date.")
    date_to: date | None = Field(None, alias="to", description="Only entries on or before this date.")
    sources: str | None = Field(None, max_length=100, description="Comma-separated: police,social_care,health")
    harm_only: bool = False
    format: Literal["json", "csv", "html"] = "json"


class NetworkQuery(BaseModel):
    hops: int = Field(2, ge=1, le=3)
    format: Literal["json", "graphml", "svg"] = "json"


def _chronology_reader(app: FastAPI) -> SnapshotReader | None:
    snap = app.state.snapshot.current()
    return snap.chronology if snap is not None else None


@router.get("/persons", tags=["persons"], summary="Search persons: ranked candidates with a match score")
async def search(request: Request, q: Annotated[SearchQuery, Query()],
                 who: Principal = Depends(guard("search")), store: Store = Depends(db)) -> Response:
    snap = request.app.state.snapshot.current()   # candidates from memory; SQL while it is rebuilt

    def work() -> Response:
        query = {k: v for k, v in (("forename", q.forename), ("surname", q.surname), ("dob", q.dob),
                                   ("birth_year", q.birth_year), ("postcode", q.postcode), ("reference", q.reference),
                                   ("person_ref", q.person_ref)) if v not in (None, "")}
        set_subject(request, "search", None, query=query)
        if q.reference is not None:
            if len(query) > 1:
                raise IntelError("reference is searched alone: leave out forename, surname, dob and postcode")
            found = search_by_reference(store, q.reference, health_clearance=who.health_clearance)
            found["candidates"] = found["candidates"][q.offset: q.offset + q.limit]
            found["truncated"] = False
        else:
            found = search_persons(store, forename=q.forename, surname=q.surname, dob=q.dob, postcode=q.postcode,
                                   birth_year=q.birth_year, person_ref=q.person_ref, limit=q.limit, offset=q.offset,
                                   index=snap.search if snap else None, health_clearance=who.health_clearance)
        add_detail(request, returned=[c["person_id"] for c in found["candidates"]])
        if q.details:
            detailed = add_details(store, who, found["candidates"][:q.details],
                                   reader=snap.chronology if snap else None)
            add_detail(request, detailed=detailed)
        body = page(request, found["candidates"], q.limit, q.offset, found["total"])
        body["query"], body["truncated"] = found["query"], found["truncated"]
        return ok(body)

    # the details' weakest links are SQL: in a thread
    return await in_memory_or_thread(snap is not None and not q.details, who, work)


@router.get("/persons/{person_id}", tags=["persons"], summary="A person: their records and how they were linked")
def person(request: Request, person_id: str = path_id(), who: Principal = Depends(guard("person")),
           store: Store = Depends(db)) -> Response:
    resolved = person_access(request, store, who, person_id)
    return ok(person_record(store, resolved))


def _chron_response(request: Request, chron: dict[str, Any], fmt: str, q: PageQuery) -> Response:
    events = chron.get("events", [])
    add_detail(request, entries=len(events), format=fmt)
    if fmt == "csv":
        return Response(to_csv(chron), media_type="text/csv; charset=utf-8")
    if fmt == "html":
        return Response(to_html(chron), media_type="text/html; charset=utf-8")
    body = {k: v for k, v in chron.items() if k != "events"}
    body["events"] = page(request, events[q.offset: q.offset + q.limit], q.limit, q.offset, len(events))
    return ok(body)


def viewer_lens(who: Principal, fmt: str) -> Lens:
    """What this viewer sees in this format (access/lens.py): hub_only rows never leave in an
    export format (csv, html, graphml, svg), nor go to marac (not hub staff); a role without
    health clearance sees only that a health contact happened."""
    return Lens.of(health_clearance=who.health_clearance, export=fmt != "json" or who.domestic_abuse_only)


def _chron_args(who: Principal, fmt: str) -> dict[str, Any]:
    lens = viewer_lens(who, fmt)
    return {"health_clearance": not lens.mask_health, "export": lens.drop_hub_only}


@router.get("/persons/{person_id}/chronology", tags=["chronologies"], summary="A person's chronology")
async def person_chronology(
    request: Request, q: Annotated[ChronologyQuery, Query()], person_id: str = path_id(),
    who: Principal = Depends(guard("chronology")), store: Store = Depends(db),
) -> Response:
    reader = _chronology_reader(request.app)   # None while a write is not yet in it: SQL then

    def work() -> Response:
        resolved = person_access(request, store, who, person_id, reader)
        chron = chronology(store, person_id=resolved, date_from=q.date_from, date_to=q.date_to, sources=q.sources,
                           harm_only=q.harm_only, config=request.app.state.config, reader=reader,
                           **_chron_args(who, q.format))
        return _chron_response(request, chron, q.format, q)

    return await in_memory_or_thread(reader is not None, who, work)


@router.get("/households/{household_key:path}/chronology", tags=["chronologies"], summary="A household's chronology")
async def household_chronology(
    request: Request, q: Annotated[ChronologyQuery, Query()],
    household_key: str = PathParam(..., min_length=1, max_length=400),
    who: Principal = Depends(guard("chronology")), store: Store = Depends(db),
) -> Response:
    reader = _chronology_reader(request.app)

    def work() -> Response:
        household_access(request, store, who, household_key)
        chron = chronology(store, household_key=household_key, date_from=q.date_from, date_to=q.date_to,
                           sources=q.sources, harm_only=q.harm_only, config=request.app.state.config, reader=reader,
                           **_chron_args(who, q.format))
        return _chron_response(request, chron, q.format, q)

    return await in_memory_or_thread(reader is not None, who, work)


@router.get("/persons/{person_id}/network", tags=["networks"], summary="A person's network (people and events)")
async def network(request: Request, q: Annotated[NetworkQuery, Query()], person_id: str = path_id(),
                  who: Principal = Depends(guard("network")), store: Store = Depends(db)) -> Response:
    lens = viewer_lens(who, q.format)
    snap = request.app.state.snapshot.current()
    # the snapshot in memory holds every record and is read through the viewer's lens
    # (views/network_memory.py); a JSON view through a restricted lens is SQL's (its findings are
    # screened by their evidence there)
    memory = snap.network if snap is not None and (lens.is_open or q.format != "json") else None

    def work() -> Response:
        resolved = person_access(request, store, who, person_id, snap.chronology if snap else None)
        add_detail(request, hops=q.hops, format=q.format)
        use = memory if memory is not None and memory.has(resolved, lens) else None
        if use is None:   # SQL, through the lens (api/lens.py)
            apply_lens(store, drop_hub_only=lens.drop_hub_only, mask_health=lens.mask_health)
        out = network_view(store, resolved, hops=q.hops, fmt=q.format, config=request.app.state.config,
                           memory=use, resolved=True, lens=lens)
        if q.format == "json":
            return ok(out)
        media = "application/graphml+xml" if q.format == "graphml" else "image/svg+xml"
        return Response(out, media_type=media)

    # JSON from memory on the event loop; a picture (Graphviz lays it out) or GraphML in a thread
    return await in_memory_or_thread(memory is not None and q.format == "json", who, work)
