"""Search: name, birth date, postcode, fuzzy as the API's; the first results with their agencies,
last event and weakest link."""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from web.chronology_view import parse_date
from web.pages import PageError, backend, check, render, rights, with_purpose
from web.sessions import WebSession

router = APIRouter()
_POSTCODE = re.compile(r"^[A-Za-z0-9 ]{2,10}$")


@router.get("/search")
async def search(request: Request, session: WebSession = Depends(with_purpose)) -> Response:
    if "search" not in rights(request, session):
        raise PageError(403, "Not available to your role", f"The {session.role} role may not search the population.")
    q = {k: (request.query_params.get(k) or "").strip()[:100] for k in ("forename", "surname", "dob", "postcode")}
    asked = "go" in request.query_params
    errors: dict[str, str] = {}
    parse_date(q["dob"], "Birth date", errors, "dob")
    if q["postcode"] and not _POSTCODE.match(q["postcode"]):
        errors["postcode"] = "Postcode: letters, digits and a space only (e.g. NB1 4QL)."
    if asked and not errors and sum(1 for v in q.values() if v) < 2:
        errors["form"] = "Fill in at least two of forename, surname, birth date and postcode."
    results = None
    if asked and not errors:
        # one read: the API adds the first ENRICHED candidates' details (api/search_details.py)
        answer = await backend(request).get(session, "/persons", params={**q, "limit": 50, "details": ENRICHED})
        if answer.status in (400, 422):
            errors["form"] = answer.detail
        else:
            results = check(request, answer, "Search")
            for item in results["items"][ENRICHED:]:   # past the first ENRICHED: shown without the details
                item.update(agencies=None, last_seen=None, weakest_link=None)
    return render(request, "search.html", status=400 if errors and asked else 200, q=q, errors=errors,
                  results=results)


ENRICHED = 20   # results shown with agencies, last event and link confidence
