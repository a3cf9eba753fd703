"""The MARAC pack: one printable page per person (A4): chronology, network picture, alerts and
their reasons, the purpose and who printed it, marked OFFICIAL-SENSITIVE.

The network picture is its own resource (``.../pack/network.svg``), which the page's script
(static/picture.js) fetches and inlines as soon as the page is there: Graphviz's layout takes
27-280 ms a picture at 1.1M mentions, and the page no longer waits for it (its first byte did).
Printing waits for the picture (the Print button), and without scripts the picture is an image."""

from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from views.chronology_export import export_view
from views.network_picture import PRINT_STYLE
from web.pages import PAGE_HEADERS, backend, check, render, with_purpose
from web.routes.people import person_parts
from web.sessions import WebSession

router = APIRouter()


@router.get("/person/{person_id}/pack")
async def pack(request: Request, person_id: str = Path(..., min_length=1, max_length=64),
               session: WebSession = Depends(with_purpose)) -> Response:
    # the person's records are not shown here; the picture is fetched by the page (network.svg)
    chron, _, names = await person_parts(request, session, person_id, {}, record=False)
    # a pack leaves the hub (it goes to the MARAC meeting): hub_only records stay behind, and so
    # does everything derived from them - names, addresses, counts, alerts (views.chronology's
    # export view, the one the API's csv and html exports use; access/lens.py for the alerts)
    exported = export_view({"person": chron["person"], "events": chron["entries"], "viewer": chron.get("viewer", {})})
    chron = {**chron, "person": exported["person"], "entries": exported["events"]}
    alerts = exported["person"]["open_alerts"]
    printed = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return render(request, "pack.html", chron=chron, header=chron["person"], printed=printed, names=names,
                  alerts=alerts)


@router.get("/person/{person_id}/pack/network.svg")
async def pack_picture(request: Request, person_id: str = Path(..., min_length=1, max_length=64),
                       session: WebSession = Depends(with_purpose)) -> Response:
    """The pack's 1-hop network picture, ready to inline in the pack: as the API draws it for
    export (restricted records never leave in an export format), audited as the API's picture."""
    answer = await backend(request).get(session, f"/persons/{quote(person_id)}/network",
                                        params={"hops": 1, "format": "svg"})
    return Response(pack_svg(check(request, answer, f"Person {person_id}")), media_type="image/svg+xml",
                    headers=PAGE_HEADERS)


def pack_svg(svg: str) -> str:
    """The API's picture as the pack inlines it: no XML declaration (it goes inside the page), nor
    the picture's own print style, whose @page would turn every page of the pack landscape
    (print.css prints the picture alone on an A4 landscape page, the rest portrait)."""
    if svg.lstrip().startswith("<?xml"):
        svg = svg.split("?>", 1)[1]
    return svg.replace(PRINT_STYLE, "", 1)
