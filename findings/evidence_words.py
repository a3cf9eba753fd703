"""An alert's evidence as an analyst reads it: each event it rests on by its date, agency and kind,
with the records of it the evidence names (the role, name and address as recorded), the people
by name and age, the dwellings by their address; every id kept beside its words as a reference.

Only what the evidence itself names is described: an event's records are those of its
``mention_ids``, never other records of the same event, so the words show nothing a viewer who may
see the alert (access.lens.screen_alerts: every record its evidence names) may not see.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from access.lens import Lens
from core.store import Store
from findings import describe

_PEOPLE_KEYS = ("persons", "victims", "harmed_persons", "co_offenders", "bridges", "adults_around_children")


def people_of(alert: dict[str, Any]) -> list[str]:
    ev = alert.get("evidence") or {}
    seen = [alert.get("person_id")] + list(alert.get("person_ids") or [])
    for key in _PEOPLE_KEYS:
        seen += [p for p in ev.get(key) or [] if isinstance(p, str)]
    return list(dict.fromkeys(p for p in seen if p))


def households_of(alert: dict[str, Any]) -> list[str]:
    ev = alert.get("evidence") or {}
    keys = [alert.get("household_key")] + [h for h in ev.get("households") or [] if isinstance(h, str)]
    return list(dict.fromkeys(k for k in keys if k))


def evidence_in_words(store: Store, alerts: list[dict[str, Any]], as_of: date | None,
                      lens: Lens | None = None, *, who: dict[str, dict[str, Any]] | None = None,
                      where: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """``{alert_id: {"events": [...], "people": [...], "households": [...]}}`` for alerts as
    findings.alerts shapes them (``evidence`` parsed). Events, oldest first:
    ``{"ref", "date", "agency", "kind", "summary", "records": [{"ref", "role", "name", "address"}]}``;
    people ``{"ref", "name", "age", "words"}``; households ``{"ref", "address"}``. Five queries
    for all the alerts. ``lens``: names, kinds and addresses only from records it shows in full.
    ``who`` / ``where``: describe.people / describe.addresses already read through the same lens for
    (at least) these alerts' people_of / households_of, so a caller that needs them too reads once."""
    mention_ids = {m for a in alerts for m in (a.get("evidence") or {}).get("mention_ids") or [] if isinstance(m, str)}
    recs = describe.records(store, sorted(mention_ids))
    event_keys = {e for a in alerts for e in (a.get("evidence") or {}).get("events") or [] if isinstance(e, str)}
    event_keys |= {r["event_key"] for r in recs.values() if r["event_key"]}
    evs = describe.events(store, sorted(event_keys), lens)
    if who is None:
        who = describe.people(store, sorted({p for a in alerts for p in people_of(a)}), lens)
    if where is None:
        where = describe.addresses(store, sorted({h for a in alerts for h in households_of(a)}), lens)
    out: dict[str, dict[str, Any]] = {}
    for a in alerts:
        ev = a.get("evidence") or {}
        named: dict[str, list[dict[str, Any]]] = {}
        for m in ev.get("mention_ids") or []:
            r = recs.get(m)
            if r is not None:
                named.setdefault(r["event_key"], []).append({
                    "ref": m, "role": describe.kind(r["role"]) if r["role"] else None, "name": r["name"] or None,
                    "address": describe.with_postcode(r["address_raw"], r["postcode"]) or None})
        keys = list(dict.fromkeys([e for e in ev.get("events") or [] if isinstance(e, str)] + list(named)))
        items = []
        for k in keys:
            info = evs.get(k, {})
            items.append({"ref": k, "date": info.get("date"), "agency": describe.agency(info.get("source")) or None,
                          "kind": describe.kind(info.get("event_type")) if info else None,
                          "summary": describe.event_words(info) if info else k,
                          "records": sorted(named.get(k, []), key=lambda r: r["ref"])})
        items.sort(key=lambda i: (i["date"] is None, i["date"] or date.min, i["ref"]))
        people = []
        for p in people_of(a):
            info = who.get(p) or {}
            age = describe.age_on(info.get("dob"), as_of)
            people.append({"ref": p, "name": info.get("name"), "age": age,
                           "words": describe.person_words(info, p, as_of)})
        out[a["alert_id"]] = {"events": items, "people": people,
                              "households": [{"ref": h, "address": where.get(h)} for h in households_of(a)]}
    return out
