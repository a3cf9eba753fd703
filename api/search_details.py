"""The first search candidates' details for a results page - agencies (events by agency), last
event and weakest link - for all of them in one request, each under the viewer's rights and lens.

What each candidate gets is what the two reads the workspace made per candidate would have given
(``GET /persons/{id}/chronology`` and ``GET /persons/{id}``): the chronology header's
``counts_by_agency`` and ``last_seen`` through the viewer's lens, only with the ``chronology``
right; the lowest link probability of the person's records (``linkage.identity.person_record``),
only with the ``person`` right; nothing for a person the viewer may not open (a domestic-abuse-only
role: one without a domestic-abuse record it sees) or an id that is not current. The two header
figures (``views.chronology.activity``: the rows the viewer sees, not the whole chronology) and
the weakest links from the serving snapshot, no SQL; from the store (SQL) only while the snapshot
is rebuilt.
"""

from __future__ import annotations

from typing import Any

from access.lens import Lens, has_domestic_abuse
from api.security import Principal
from core.errors import NotFound
from core.store import Store
from views.chronology import activity
from views.chronology_sources import SnapshotReader, StoreReader

FIELDS = ("agencies", "last_seen", "weakest_link")


def _may_open(store: Store, who: Principal, person_id: str, reader: StoreReader | SnapshotReader) -> bool:
    """What api.subjects.person_access would let through without a redirect."""
    try:
        if reader.resolve(person_id) != person_id:
            return False
    except NotFound:
        return False
    if who.domestic_abuse_only:
        return has_domestic_abuse(store, Lens.of(health_clearance=who.health_clearance, export=True),
                                  person_id=person_id)
    return True


def add_details(store: Store, who: Principal, candidates: list[dict[str, Any]], *,
                reader: SnapshotReader | None) -> list[str]:
    """Set ``agencies``, ``last_seen`` and ``weakest_link`` on each of ``candidates`` (None where
    the viewer may not have them); the ids that got any detail."""
    use = reader or StoreReader(store)
    for c in candidates:
        c.update(dict.fromkeys(FIELDS))
    shown = [c for c in candidates if _may_open(store, who, c["person_id"], use)]
    lens = Lens.of(health_clearance=who.health_clearance, export=who.domestic_abuse_only)
    if "chronology" in who.rights:
        for c in shown:   # the header's two figures, not the whole chronology (views.chronology.activity)
            c["agencies"], c["last_seen"] = activity(c["person_id"], reader=use, health_clearance=not lens.mask_health,
                                                     export=lens.drop_hub_only)
    if "person" in who.rights:
        weakest = use.weakest_links([c["person_id"] for c in shown])
        for c in shown:
            c["weakest_link"] = weakest.get(c["person_id"])
    return [c["person_id"] for c in shown] if {"chronology", "person"} & who.rights else []
