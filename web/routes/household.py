"""The household chronology, reached from any address on a person page."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from web.chronology_view import chronology_filters, timeline
from web.pages import PageError, backend, check, render, with_purpose
from web.sessions import WebSession

router = APIRouter()


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
    members = _members(chron.get("household", {}))
    return render(request, "household.html", status=400 if errors else 200, chron=chron,
                  header=chron.get("household", {}), key=household_key,
                  members=members, names={m["person_id"]: m["names"][0] for m in members if m["names"]},
                  errors=errors, form=form,
                  timeline=timeline(chron["entries"]))


def _members(header: dict[str, Any]) -> list[dict[str, Any]]:
    """One line per person recorded at the address: their names as recorded, birth date, when."""
    people: dict[str, dict[str, Any]] = {}
    for a in header.get("aliases", []):
        p = people.setdefault(a["person_id"], {"person_id": a["person_id"], "names": [], "dob": None})
        if a.get("name") and a["name"].lower() not in (n.lower() for n in p["names"]):
            p["names"].append(a["name"])
        p["dob"] = p["dob"] or a.get("dob")
    for ad in header.get("addresses", []):
        if ad["person_id"] in people:
            people[ad["person_id"]].update(first_seen=ad.get("first_seen"), last_seen=ad.get("last_seen"))
    return list(people.values())
