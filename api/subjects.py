"""Who may see which person or household: the access decisions every personal-data route makes
before it reads, and the answers (403, 404, 307 to a merged person's survivor) it gives."""

from __future__ import annotations

from fastapi import Request

from access.lens import Lens, has_domestic_abuse
from api.problems import Problem
from api.security import Principal, add_detail, set_subject
from core.errors import NotFound
from core.person_ids import moved
from core.store import Store
from views.chronology_sources import SnapshotReader, StoreReader

MARAC_DENIED = "this record is not available to your role"


def _marac_lens(who: Principal) -> Lens:
    """What a domestic-abuse-only role sees: never hub_only records (not hub staff)."""
    return Lens.of(health_clearance=who.health_clearance, export=True)


def _has_da_person(store: Store, person_id: str, who: Principal) -> bool:
    # through the viewer's lens: a person whose only domestic-abuse record is hidden from them
    # gets the same answer as one with none (the answer itself would otherwise say it exists)
    return has_domestic_abuse(store, _marac_lens(who), person_id=person_id)


def _has_da_household(store: Store, household_key: str, who: Principal) -> bool:
    return has_domestic_abuse(store, _marac_lens(who), household_key=household_key)


def person_access(request: Request, store: Store, who: Principal, person_id: str,
                  reader: SnapshotReader | None = None) -> str:
    """The surviving id of ``person_id`` if ``who`` may see it. A marac user gets the same 403 for
    a person who does not exist as for one without a domestic-abuse event (so a refusal never
    says whether someone is known); other roles get 404 for an unknown id. A merged id answers
    307 to the same route under the surviving id."""
    resolve = (reader or StoreReader(store)).resolve
    set_subject(request, "person", person_id)
    if who.domestic_abuse_only:
        try:
            resolved = resolve(person_id)
        except NotFound:
            raise Problem(403, "forbidden-subject", MARAC_DENIED) from None
        if not _has_da_person(store, resolved, who):
            raise Problem(403, "forbidden-subject", MARAC_DENIED)
    else:
        resolved = resolve(person_id)
    if resolved != person_id:
        add_detail(request, resolved_to=resolved)
        location = request.url.path.replace(f"/persons/{person_id}", f"/persons/{resolved}", 1)
        if request.url.query:
            location += "?" + request.url.query
        raise Problem(307, *moved(person_id, resolved),
                      headers={"Location": location}, extra={"person_id": resolved, "requested_id": person_id})
    return resolved


def household_access(request: Request, store: Store, who: Principal, household_key: str) -> None:
    set_subject(request, "household", household_key)
    if who.domestic_abuse_only and not _has_da_household(store, household_key, who):
        raise Problem(403, "forbidden-subject", MARAC_DENIED)
