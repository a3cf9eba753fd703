"""Chronology of a person or a household: every event across agencies in date order.

``chronology(store, person_id=...)`` or ``chronology(store, household_key=...)`` returns
``{"person": {...header...}, "events": [...entries...]}`` (``"household"`` for a household).

An entry is either an agency event (``kind = "event"``: date, agency, event type, this person's
role, the other people in it, RAG / outcome / DASH risk / presentation, the household at the time,
the decision timescale for a social care contact, and how sure the link is) or a significant
event derived from the records (``kind = "derived"``: ``first_contact`` with an agency,
``address_change``, ``new_adult_at_household``).

Restrictions (``mentions.restriction``):
- ``health_confidential``: a viewer without health clearance sees only that a health contact
  happened and when; the row adds nothing else (names, addresses, harm, other people).
- ``hub_only``: never leaves in an export format. ``export=True`` drops those rows before anything
  is computed; :func:`to_csv` and :func:`to_html` always build an export view (dropping hub_only
  entries and what only hub_only rows support), whatever they are given.
"""

from __future__ import annotations

from datetime import date, timedelta
from collections.abc import Mapping
from typing import Any

from access.lens import Lens, screen_alerts
from core.dates import parse_date
from core.errors import IntelError, NotFound
from core.person_ids import moved
from core.store import Store
from findings.dwellings import dwelling_of
from views.chronology_entries import SOURCES, day_of, derived_entries, event_entries, harm_flags, household_on, spells_of, visibility
from views.chronology_sources import SnapshotReader, StoreReader


# --- the chronology --------------------------------------------------------------------------

def chronology(
    store: Store,
    person_id: str | None = None,
    household_key: str | None = None,
    date_from: date | str | None = None,
    date_to: date | str | None = None,
    sources: list[str] | str | None = None,
    harm_only: bool = False,
    health_clearance: bool = True,
    export: bool = False,
    *,
    config: Mapping[str, Any],
    today: date | str | None = None,
    reader: StoreReader | SnapshotReader | None = None,
) -> dict[str, Any]:
    """The chronology of one person (a merged id resolves to the survivor) or one household.

    ``reader`` answers the lookups (views/chronology_sources.py): the store's SQL by default; the
    API passes its in-memory snapshot of the same committed state when it has a current one."""
    if (person_id is None) == (household_key is None):
        raise IntelError("give a person id or a household key (one of them)")
    cfg = config
    ccfg = cfg.get("chronology", {})
    date_from = parse_date(date_from, "--from")
    date_to = parse_date(date_to, "--to")
    if date_from and date_to and date_from > date_to:
        raise IntelError(f"--from {date_from} is after --to {date_to}")
    if isinstance(sources, str):
        sources = [s.strip() for s in sources.split(",") if s.strip()]
    if sources:
        unknown = sorted(set(sources) - set(SOURCES))
        if unknown:
            raise IntelError(f"unknown source(s) {unknown}; sources are {list(SOURCES)}")
    # "the last 12 months" count back from the extract date (or the date given), never the clock
    reader = reader if reader is not None else StoreReader(store)
    today = parse_date(today, "--as-of") or reader.as_of() or date.today()

    if person_id is not None:
        resolved = reader.resolve(person_id)
        subjects = [resolved]
    else:
        resolved = None
        household_key = dwelling_of(store, household_key)
        subjects = reader.household_persons(household_key)
        if not subjects:
            raise NotFound(f"no household {household_key!r} (no person recorded there)")

    rows = [r for r in reader.person_rows(subjects) if visibility(r, health_clearance, export) != "hidden"]
    for r, h in zip(rows, harm_flags(rows, cfg.get("harm", {}))):
        r["harm"] = bool(h)
    full_rows = [r for r in rows if visibility(r, health_clearance, export) == "full"]
    spells = spells_of(full_rows)

    if household_key is not None:
        # a member's event belongs to the household when they lived there at the time
        def at_household(r: dict[str, Any]) -> bool:
            own = r["household_key"]
            return own == household_key if own is not None else \
                household_on(spells, r["person_id"], day_of(r["event_date"])) == household_key
        rows = [r for r in rows if at_household(r)]
        members = sorted({r["person_id"] for r in rows})
        full_rows = [r for r in full_rows if at_household(r)]
    else:
        members = subjects

    # the other people in these events and at the households the derived entries look at, at once
    if household_key is not None:
        resident_keys = [household_key] if full_rows else []
    else:
        resident_keys = sorted({s["household_key"] for s in spells if s["person_id"] == resolved})
    participants, residents = reader.nearby(
        sorted({r["event_key"] for r in rows if r["event_key"] is not None}), resident_keys)
    events = event_entries(participants, rows, subjects, spells, health_clearance, export, ccfg,
                            household_mode=household_key is not None)
    derived = derived_entries(residents, full_rows, spells, resolved, household_key, health_clearance, export, ccfg)
    entries = events + derived
    entries.sort(key=lambda e: (e["event_date"], 0 if e["kind"] == "event" else 1, e["source"] or "", e["event_key"] or "",
                                e.get("derived_type") or ""))

    # filters (the header describes the whole record; the entries are filtered)
    def keep(e: dict[str, Any]) -> bool:
        d = e["event_date"][:10]
        if date_from and d < date_from.isoformat():
            return False
        if date_to and d > date_to.isoformat():
            return False
        if sources and e["source"] not in sources:
            return False
        if harm_only and not e.get("harm"):
            return False
        return True

    header = _header(rows, full_rows, spells, resolved, household_key, members, today, ccfg)
    # alerts are derived text: shown only where the viewer sees all of their evidence (access/lens.py)
    header["open_alerts"] = screen_alerts(reader.open_alerts(members, household_key),
                                          Lens.of(health_clearance=health_clearance, export=export))
    if resolved is not None and resolved != person_id:
        header["requested_id"] = person_id
        header["note"] = f"{moved(person_id, resolved)[1]}; this is the chronology of {resolved}"
    out: dict[str, Any] = {
        ("person" if household_key is None else "household"): header,
        "filters": {"from": date_from.isoformat() if date_from else None, "to": date_to.isoformat() if date_to else None,
                    "sources": sources or None, "harm_only": harm_only},
        "viewer": {"health_clearance": health_clearance, "export": export},
        "export": export,
        "events": [e for e in entries if keep(e)],
    }
    return out


def _header(rows: list[dict[str, Any]], full_rows: list[dict[str, Any]], spells: list[dict[str, Any]],
            person_id: str | None, household_key: str | None, members: list[str], today: date,
            ccfg: dict[str, Any]) -> dict[str, Any]:
    aliases: dict[tuple, dict[str, Any]] = {}
    for r in full_rows:
        name = " ".join(p for p in (r["forename_raw"], r["middle_names_raw"], r["surname_raw"]) if p)
        # no name and no dob (an encoded store, docs/encoded-extracts.md): the agency's record
        # references, which that agency can reveal on a recorded need, stand where a name would
        by_reference = not name and r["dob"] is None
        k = (r["person_id"], name, r["dob"], r["source"] if by_reference else None)
        a = aliases.setdefault(k, {"person_id": r["person_id"], "name": name or None,
                                   "dob": r["dob"].isoformat() if r["dob"] else None,
                                   **({"references": []} if by_reference else {}),
                                   "sources": set(), "records": 0, "restrictions": set()})
        a["sources"].add(r["source"])
        a["records"] += 1
        a["restrictions"].add(r["restriction"])
        if by_reference:
            a["references"].append(r["mention_id"])
        if r["restriction"] != "hub_only":  # what an export may show (see export_view)
            shared = a.setdefault("shared", {"sources": set(), "records": 0})
            shared["sources"].add(r["source"])
            shared["records"] += 1
    addresses: dict[tuple, dict[str, Any]] = {}
    for r in full_rows:
        if r["household_key"] is None:
            continue
        a = addresses.setdefault((r["person_id"], r["household_key"]), {
            "person_id": r["person_id"], "household_key": r["household_key"], "address": r["address_raw"],
            "postcode": r["postcode"], "first_seen": day_of(r["event_date"]), "last_seen": day_of(r["event_date"]),
            "restrictions": set()})
        d = day_of(r["event_date"])
        a["first_seen"] = min(a["first_seen"], d)
        a["last_seen"] = max(a["last_seen"], d)
        a["restrictions"].add(r["restriction"])
        if r["restriction"] != "hub_only":  # the dates and text an export may show (see export_view)
            shared = a.setdefault("shared", {"address": r["address_raw"], "first_seen": d, "last_seen": d})
            shared["first_seen"] = min(shared["first_seen"], d)
            shared["last_seen"] = max(shared["last_seen"], d)
    window = int(ccfg.get("harm_window_days", 365))
    since = today - timedelta(days=window)
    counts_by_agency, last_seen = _counts_and_last_seen(rows)
    harm_recent = {r["event_key"] for r in full_rows if r["harm"] and day_of(r["event_date"]) > since
                   and day_of(r["event_date"]) <= today}
    dates = [day_of(r["event_date"]) for r in rows]
    header: dict[str, Any] = {
        "aliases": [{**a, "sources": sorted(a["sources"]), "restrictions": sorted(a["restrictions"]),
                     **({"references": sorted(a["references"])} if "references" in a else {}),
                     "shared": {"sources": sorted(a["shared"]["sources"]), "records": a["shared"]["records"]}
                     if a.get("shared") else None}
                    for a in sorted(aliases.values(), key=lambda a: (a["person_id"], -a["records"], a["name"] or ""))],
        "addresses": [{**a, "first_seen": a["first_seen"].isoformat(), "last_seen": a["last_seen"].isoformat(),
                       "restrictions": sorted(a["restrictions"]),
                       "shared": {"address": a["shared"]["address"], "first_seen": a["shared"]["first_seen"].isoformat(),
                                  "last_seen": a["shared"]["last_seen"].isoformat()} if a.get("shared") else None}
                      for a in sorted(addresses.values(), key=lambda a: (a["person_id"], a["first_seen"]))],
        "counts_by_agency": counts_by_agency,
        "harm_events_last_12_months": len(harm_recent),
        "harm_window": {"from": (since + timedelta(days=1)).isoformat(), "to": today.isoformat()},
        "first_seen": min(dates).isoformat() if dates else None,
        "last_seen": last_seen,
    }
    if person_id is not None:
        return {"person_id": person_id, **header}
    return {"household_key": household_key, "members": members, **header}


def _counts_and_last_seen(rows: list[dict[str, Any]]) -> tuple[dict[str, int], str | None]:
    """Events by agency and the last day seen, over the rows the viewer sees (hidden ones gone)."""
    events_by_source: dict[str, set[str]] = {}
    for r in rows:
        events_by_source.setdefault(r["source"], set()).add(r["event_key"])
    last = max((day_of(r["event_date"]) for r in rows), default=None)
    return {s: len(v) for s, v in sorted(events_by_source.items())}, last.isoformat() if last else None


def activity(person_id: str, *, reader: StoreReader | SnapshotReader, health_clearance: bool = True,
             export: bool = False) -> tuple[dict[str, int], str | None]:
    """A current person's ``counts_by_agency`` and ``last_seen`` as their chronology's header gives
    them to this viewer, without building the chronology (its entries and the other people in
    them): the search results page shows these two for 20 people (api/search_details.py).
    ``person_id`` must be current (``reader.resolve`` gives it back)."""
    rows = [r for r in reader.person_rows([person_id]) if visibility(r, health_clearance, export) != "hidden"]
    return _counts_and_last_seen(rows)
