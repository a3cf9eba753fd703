"""The MARAC pack: one printable page per person (A4): chronology, network picture, alerts and
their reasons, the purpose and who printed it, marked OFFICIAL-SENSITIVE."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from views.chronology_export import export_view
from views.network_picture import PRINT_STYLE
from web.pages import backend, check, render, with_purpose
from web.routes.people import person_parts
from web.sessions import WebSession

router = APIRouter()


@router.get("/person/{person_id}/pack")
async def pack(request: Request, person_id: str = Path(..., min_length=1, max_length=64),
               session: WebSession = Depends(with_purpose)) -> Response:
    # the picture as the API draws it for export (restricted records never leave in an export
    # format), asked at the same time as the rest; the person's records are not shown here
    (chron, _, names), svg_answer = await asyncio.gather(
        person_parts(request, session, person_id, {}, record=False),
        backend(request).get(session, f"/persons/{quote(person_id)}/network", params={"hops": 1, "format": "svg"}))
    svg = check(request, svg_answer, f"Person {person_id}")
    if svg.lstrip().startswith("<?xml"):   # inlined in the page: no XML declaration
        svg = svg.split("?>", 1)[1]
    # nor the picture's own print style: its @page would turn every page of the pack landscape
    # (print.css prints the picture alone on an A4 landscape page, the rest portrait)
    svg = svg.replace(PRINT_STYLE, "", 1)
    # a pack leaves the hub (it goes to the MARAC meeting): hub_only records stay behind, and so
    # does everything derived from them - names, addresses, counts, alerts (views.chronology's
    # export view, the one the API's csv and html exports use; access/lens.py for the alerts)
    exported = export_view({"person": chron["person"], "events": chron["entries"], "viewer": chron.get("viewer", {})})
    chron = {**chron, "person": exported["person"], "entries": exported["events"]}
    alerts = exported["person"]["open_alerts"]
    printed = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return render(request, "pack.html", chron=chron, header=chron["person"], svg=svg, printed=printed, names=names,
                  alerts=alerts)
