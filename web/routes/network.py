"""The interactive network around a person (1 or 2 hops), and its SVG and GraphML downloads."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from web.pages import PageError, backend, check, render, with_purpose
from web.sessions import WebSession

router = APIRouter()
PERSON_ID = Path(..., min_length=1, max_length=64)


def _hops(request: Request) -> int:
    raw = request.query_params.get("hops", "1")
    if raw not in ("1", "2"):
        raise PageError(400, "Network: not accepted", f"hops must be 1 or 2, not '{raw[:10]}'.")
    return int(raw)


def edge_reasons(net: dict[str, Any]) -> list[dict[str, Any]]:
    """Each edge in words: who, how (their role), what, when."""
    label = {n["data"]["id"]: n["data"].get("label", n["data"]["id"]) for n in net["elements"]["nodes"]}
    out = []
    for e in net["elements"]["edges"]:
        d = e["data"]
        role = (d.get("role") or "").replace("_", " ")
        when = d.get("date") or ""
        if d.get("date_to") and d.get("date_to") != when:
            when = f"{when} to {d['date_to']}"
        out.append({"id": d["id"], "a": label.get(d["source"], d["source"]), "b": label.get(d["target"], d["target"]),
                    "role": role, "when": when, "harm": bool(d.get("harm")),
                    "reason": f"{label.get(d['source'], d['source'])} — {role or 'linked'} — "
                              f"{label.get(d['target'], d['target'])}" + (f" ({when})" if when else "")})
    return out


@router.get("/person/{person_id}/network")
async def network(request: Request, person_id: str = PERSON_ID, session: WebSession = Depends(with_purpose)) -> Response:
    hops = _hops(request)
    net = check(request, await backend(request).get(session, f"/persons/{quote(person_id)}/network",
                                                    params={"hops": hops}), f"Person {person_id}")
    reasons = edge_reasons(net)
    for e, r in zip(net["elements"]["edges"], reasons):
        e["data"]["reason"] = r["reason"]
    return render(request, "network.html", net=net, hops=hops, reasons=reasons, person_id=net["person_id"])


@router.get("/person/{person_id}/network.{fmt}")
async def network_file(request: Request, fmt: str, person_id: str = PERSON_ID,
                       session: WebSession = Depends(with_purpose)) -> Response:
    if fmt not in ("svg", "graphml"):
        raise PageError(404, "Not found", f"There is no '{fmt[:10]}' download; choose SVG or GraphML.")
    hops = _hops(request)
    answer = await backend(request).get(session, f"/persons/{quote(person_id)}/network",
                                        params={"hops": hops, "format": fmt})
    body = check(request, answer, f"Person {person_id}")
    media = "image/svg+xml" if fmt == "svg" else "application/graphml+xml"
    return Response(body, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="network-{person_id}-{hops}hop.{fmt}"',
        "Cache-Control": "no-store"})
