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

import csv
import html
import io
from datetime import date, datetime, time, timedelta
from collections.abc import Mapping
from typing import Any

from access.lens import Lens, screen_alerts
from core.dates import parse_date
from core.spreadsheet_cells import neutralise
from core.errors import IntelError, NotFound
from core.store import Store
from findings.as_of import extract_date
from findings.dwellings import dwelling_of
from findings.timescales import WorkingCalendar, decision_timescale
from views.chronology_sources import SnapshotReader, StoreReader

SOURCES = ("police", "social_care", "health")
__all__ = ["WorkingCalendar", "chronology", "decision_timescale", "export_view", "to_csv", "to_html"]
_EVENT_FIELDS = ("dash_risk", "initial_rag", "final_rag", "decision_date", "outcome", "referral_source",
                 "presentation", "safeguarding_concern", "location_postcode")


# --- helpers ---------------------------------------------------------------------------------

def _age_on(dob: date | None, on: date) -> int | None:
    if dob is None:
        return None
    return on.year - dob.year - ((on.month, on.day) < (dob.month, dob.day))


def _day(value: datetime | date) -> date:
    return value.date() if isinstance(value, datetime) else value


def _harm_flags(rows: list[dict[str, Any]], harm_cfg: dict[str, Any]) -> list[bool]:
    """Whether each row is a person harmed by its event: graphs.harm.harm_expr's rule, row by row
    (a chronology has tens of rows; a polars frame per call would cost more than the rule)."""
    police, sc, health = (harm_cfg.get(k, {}) for k in ("police", "social_care", "health"))
    need_concern = health.get("requires_safeguarding_concern", True)

    def harmed(r: dict[str, Any]) -> bool:
        src = r["source"]
        if src == "police":
            return r["event_type"] in police.get("event_types", []) and r["role"] in police.get("roles", [])
        if src == "social_care":
            return r["role"] in sc.get("roles", []) and (
                r["final_rag"] in sc.get("final_rags", []) or r["event_type"] in sc.get("event_types", []))
        if src == "health":
            return (r["role"] in health.get("roles", []) and r["presentation"] in health.get("presentations", [])
                    and (bool(r["safeguarding_concern"]) or not need_concern))
        return False

    return [harmed(r) for r in rows]


def _spells(rows: list[dict[str, Any]], key: str = "person_id") -> list[dict[str, Any]]:
    """Household spells per person from the given mention rows: graphs.households.household_spells
    (boundary ``midpoint``) row by row, the same spells (tests/intel/test_chronology_spells.py
    compares them). A chronology has tens of rows; a polars frame per call cost ~3 ms of
    polars' own overhead alone, and far more under concurrent requests (its thread pool)."""
    counts: dict[tuple[str, date], dict[str, int]] = {}
    for r in rows:
        hk, pid = r["household_key"], r[key]
        if hk is None or pid is None:
            continue
        day = counts.setdefault((pid, _day(r["event_date"])), {})
        day[hk] = day.get(hk, 0) + 1
    spells: list[dict[str, Any]] = []
    for (pid, day), by_key in sorted(counts.items(), key=lambda kv: kv[0]):
        # one household a day: the one with most mentions that day, then the smallest key
        hk = min(by_key, key=lambda k: (-by_key[k], k))
        n = sum(by_key.values())
        last = spells[-1] if spells else None
        if last is not None and last["person_id"] == pid and last["household_key"] == hk:
            last["last_seen"] = day
            last["n_mentions"] += n
            continue
        start = None
        if last is not None and last["person_id"] == pid:  # the move half way between the two records
            start = last["last_seen"] + timedelta(days=((day - last["last_seen"]).days + 1) // 2)
            last["end"] = start
        spells.append({"person_id": pid, "household_key": hk, "start": start, "end": None,
                       "first_seen": day, "last_seen": day, "n_mentions": n})
    return spells


def _household_on(spells: list[dict[str, Any]], person_id: str, on: date) -> str | None:
    for s in spells:
        if s["person_id"] == person_id and (s["start"] is None or s["start"] <= on) and (s["end"] is None or on < s["end"]):
            return s["household_key"]
    return None


def _visible(row: dict[str, Any], health_clearance: bool, export: bool) -> str:
    """'full', 'masked' (that it happened and when) or 'hidden': the viewer's lens (access/lens.py)."""
    restriction = row["restriction"]
    if restriction == "none":    # most rows: no lens to consult (this runs for every row, several times)
        return "full"
    return Lens.of(health_clearance=health_clearance, export=export).visibility(restriction)


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
    today = parse_date(today, "--as-of") or extract_date(store, datetime.now()) or date.today()
    reader = reader if reader is not None else StoreReader(store)

    if person_id is not None:
        resolved = reader.resolve(person_id)
        subjects = [resolved]
    else:
        resolved = None
        household_key = dwelling_of(store, household_key)
        subjects = reader.household_persons(household_key)
        if not subjects:
            raise NotFound(f"no household {household_key!r} (no person recorded there)")

    rows = [r for r in reader.person_rows(subjects) if _visible(r, health_clearance, export) != "hidden"]
    for r, h in zip(rows, _harm_flags(rows, cfg.get("harm", {}))):
        r["harm"] = bool(h)
    full_rows = [r for r in rows if _visible(r, health_clearance, export) == "full"]
    spells = _spells(full_rows)

    if household_key is not None:
        # a member's event belongs to the household when they lived there at the time
        def at_household(r: dict[str, Any]) -> bool:
            own = r["household_key"]
            return own == household_key if own is not None else \
                _household_on(spells, r["person_id"], _day(r["event_date"])) == household_key
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
    events = _event_entries(participants, rows, subjects, spells, health_clearance, export, ccfg,
                            household_mode=household_key is not None)
    derived = _derived_entries(residents, full_rows, spells, resolved, household_key, health_clearance, export, ccfg)
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
        header["note"] = f"{person_id} was merged into {resolved}; this is the chronology of {resolved}"
    out: dict[str, Any] = {
        ("person" if household_key is None else "household"): header,
        "filters": {"from": date_from.isoformat() if date_from else None, "to": date_to.isoformat() if date_to else None,
                    "sources": sources or None, "harm_only": harm_only},
        "viewer": {"health_clearance": health_clearance, "export": export},
        "export": export,
        "events": [e for e in entries if keep(e)],
    }
    return out


def _event_entries(participants: list[dict[str, Any]], rows: list[dict[str, Any]], subjects: list[str],
                   spells: list[dict[str, Any]],
                   health_clearance: bool, export: bool, ccfg: dict[str, Any], *,
                   household_mode: bool = False) -> list[dict[str, Any]]:
    calendar = WorkingCalendar(ccfg.get("working_calendar", {}))
    timescales = ccfg.get("timescales", {})
    by_event: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_event.setdefault(r["event_key"], []).append(r)
    others_of: dict[str, list[dict[str, Any]]] = {}
    for p in participants:
        others_of.setdefault(p["event_key"], []).append(p)
    subject_set = set(subjects)
    entries = []
    for event_key, own in by_event.items():
        own.sort(key=lambda r: r["mention_id"])
        first = own[0]
        masked = all(_visible(r, health_clearance, export) == "masked" for r in own)
        when = first["event_date"]
        entry: dict[str, Any] = {
            "kind": "event",
            "event_date": when.isoformat(),
            "source": first["source"],
            "event_key": event_key,
            "restriction": "health_confidential" if masked else
            ("hub_only" if any(r["restriction"] == "hub_only" for r in own) else first["restriction"]),
        }
        if masked:
            entry.update({"event_date": _day(when).isoformat(), "restricted": True,
                          "summary": "health contact (details restricted: health confidential)"})
            entries.append(entry)
            continue
        full = [r for r in own if _visible(r, health_clearance, export) == "full"]
        first = full[0]
        people = [{"person_id": r["person_id"], "role": r["role"], "mention_id": r["mention_id"],
                   "link_probability": r["link_probability"], "confirmed": bool(r["confirmed"]),
                   "harmed": r["harm"]} for r in full]
        others = []
        for p in others_of.get(event_key, []):
            if p["person_id"] in subject_set or any(p["mention_id"] == r["mention_id"] for r in own):
                continue
            vis = _visible(p, health_clearance, export)
            if vis != "full":
                continue
            name = " ".join(x for x in (p.get("forename_raw"), p.get("surname_raw")) if x) or None
            others.append({"person_id": p["person_id"], "role": p["role"], "name": name})
        hh = first["household_key"] or _household_on(spells, first["person_id"], _day(when))
        entry.update({
            "event_id": first["event_id"],
            "event_type": first["event_type"],
            "role": ", ".join(sorted({r["role"] for r in full})) if not household_mode else None,
            "mention_ids": [r["mention_id"] for r in full],
            "others": others,
            "household_key": hh,
            "harm": any(r["harm"] for r in full),
            **{f: first[f] for f in _EVENT_FIELDS},
            "link": {"probability": min((r["link_probability"] for r in full if r["link_probability"] is not None), default=None),
                     "confirmed": all(bool(r["confirmed"]) for r in full)},
        })
        if household_mode:
            entry["household_members"] = people
        if first["source"] == "social_care":
            entry["timescale"] = decision_timescale(when, first["decision_date"], first["initial_rag"], timescales, calendar)
        for f in ("decision_date",):
            if isinstance(entry[f], datetime):
                entry[f] = entry[f].isoformat()
        entries.append(entry)
    return entries


def _derived_entries(residents: list[dict[str, Any]], rows: list[dict[str, Any]], spells: list[dict[str, Any]],
                     person_id: str | None,
                     household_key: str | None, health_clearance: bool, export: bool,
                     ccfg: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    adult_age = int(ccfg.get("adult_age", 18))
    adult_roles = set(ccfg.get("adult_roles", []))
    child_roles = set(ccfg.get("child_roles", []))
    if person_id is not None:
        mine = sorted(rows, key=lambda r: (r["event_date"], r["mention_id"]))
        # first contact with each agency
        seen: set[str] = set()
        for r in mine:
            if r["source"] not in seen:
                seen.add(r["source"])
                out.append(_derived(r["event_date"], r["source"], r["event_key"], "first_contact",
                                    f"first contact with {r['source'].replace('_', ' ')}",
                                    mention_ids=[r["mention_id"]], restriction=r["restriction"]))
        # changes of address
        own_spells = sorted((s for s in spells if s["person_id"] == person_id), key=lambda s: s["first_seen"])
        for prev, cur in zip(own_spells, own_spells[1:]):
            support = [r for r in mine if r["household_key"] == cur["household_key"] and _day(r["event_date"]) == cur["first_seen"]]
            out.append(_derived(datetime.combine(cur["first_seen"], time()), None, None, "address_change",
                                f"change of address: from {prev['household_key']} to {cur['household_key']}",
                                household_key=cur["household_key"], previous_household_key=prev["household_key"],
                                mention_ids=[r["mention_id"] for r in support],
                                restriction=_strictest(support)))
        dob = next((r["dob"] for r in mine if r["dob"] is not None), None)
        is_child_role = any(r["role"] in child_roles for r in mine)
        places = [(s["household_key"], s["first_seen"], s["end"]) for s in own_spells]

        def subject_is_child(on: date) -> bool:
            age = _age_on(dob, on)
            return age < adult_age if age is not None else is_child_role
    else:
        places = [(household_key, min((_day(r["event_date"]) for r in rows), default=None), None)]

        def subject_is_child(on: date) -> bool:
            return any((_age_on(r["dob"], on) is not None and _age_on(r["dob"], on) < adult_age)
                       or (r["dob"] is None and r["role"] in child_roles) for r in rows)
    # new adults recorded at the (child's) household
    keys = [p[0] for p in places if p[0] is not None and p[1] is not None]
    if keys:
        # residents: the linked mentions at these keys (fetched with the participants, _fetch_nearby)
        residents = [r for r in residents if _visible(r, health_clearance, export) == "full"]
        for key, since, until in places:
            if key is None or since is None:
                continue
            firsts: dict[str, dict[str, Any]] = {}
            for r in sorted((r for r in residents if r["household_key"] == key), key=lambda r: (r["event_date"], r["mention_id"])):
                firsts.setdefault(r["person_id"], r)
            for pid, r in firsts.items():
                if pid == person_id:
                    continue
                on = _day(r["event_date"])
                if on <= since or (until is not None and on >= until):
                    continue
                age = _age_on(r["dob"], on)
                adult = age >= adult_age if age is not None else r["role"] in adult_roles
                if adult and subject_is_child(on):
                    out.append(_derived(r["event_date"], None, None, "new_adult_at_household",
                                        f"new adult {pid} recorded at the household {key} "
                                        "(new partner; presence of a significant adult)",
                                        household_key=key, other_person_id=pid, mention_ids=[r["mention_id"]],
                                        restriction=r["restriction"]))
    return out


def _strictest(rows: list[dict[str, Any]]) -> str:
    found = {r["restriction"] for r in rows}
    for level in ("hub_only", "health_confidential"):
        if level in found:
            return level
    return "none"


def _derived(when: datetime, source: str | None, event_key: str | None, derived_type: str, summary: str,
             **extra: Any) -> dict[str, Any]:
    return {"kind": "derived", "event_date": when.isoformat(), "source": source, "event_key": event_key,
            "derived_type": derived_type, "summary": summary, "harm": False, **extra}


def _references_text(references: list[str], shown: int = 6) -> str:
    """``health records H1, H2 (+3 more): identity held by health`` for an encoded store's alias."""
    if not references:
        return ""
    source = references[0].split(":", 1)[0]
    ids = [r.split(":", 1)[1] for r in references]
    more = f" (+{len(ids) - shown} more)" if len(ids) > shown else ""
    agency = source.replace("_", " ")
    return f"{agency} record{'s' if len(ids) > 1 else ''} {', '.join(ids[:shown])}{more}: identity held by {agency}"


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
            "postcode": r["postcode"], "first_seen": _day(r["event_date"]), "last_seen": _day(r["event_date"]),
            "restrictions": set()})
        d = _day(r["event_date"])
        a["first_seen"] = min(a["first_seen"], d)
        a["last_seen"] = max(a["last_seen"], d)
        a["restrictions"].add(r["restriction"])
        if r["restriction"] != "hub_only":  # the dates and text an export may show (see export_view)
            shared = a.setdefault("shared", {"address": r["address_raw"], "first_seen": d, "last_seen": d})
            shared["first_seen"] = min(shared["first_seen"], d)
            shared["last_seen"] = max(shared["last_seen"], d)
    window = int(ccfg.get("harm_window_days", 365))
    since = today - timedelta(days=window)
    events_by_source: dict[str, set[str]] = {}
    for r in rows:
        events_by_source.setdefault(r["source"], set()).add(r["event_key"])
    harm_recent = {r["event_key"] for r in full_rows if r["harm"] and _day(r["event_date"]) > since
                   and _day(r["event_date"]) <= today}
    dates = [_day(r["event_date"]) for r in rows]
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
        "counts_by_agency": {s: len(v) for s, v in sorted(events_by_source.items())},
        "harm_events_last_12_months": len(harm_recent),
        "harm_window": {"from": (since + timedelta(days=1)).isoformat(), "to": today.isoformat()},
        "first_seen": min(dates).isoformat() if dates else None,
        "last_seen": max(dates).isoformat() if dates else None,
    }
    if person_id is not None:
        return {"person_id": person_id, **header}
    return {"household_key": household_key, "members": members, **header}


# --- export renderers (hub_only never leaves) -----------------------------------------------

def export_view(chron: dict[str, Any]) -> dict[str, Any]:
    """The chronology with everything only hub_only rows support removed (a no-op for one built
    with export=True). Counts in the header are recounted from what is left."""
    if chron.get("export"):
        return chron
    events = [e for e in chron["events"] if e.get("restriction") != "hub_only"]
    key = "person" if "person" in chron else "household"
    h = dict(chron[key])
    # Aliases and addresses are shown only as the shareable records support them: dates, text and
    # counts recomputed without hub_only rows (a spell's first date may come from one).
    h["aliases"] = [{**a, **a["shared"], "restrictions": [r for r in a["restrictions"] if r != "hub_only"],
                     "shared": None} for a in h["aliases"] if a.get("shared")]
    h["addresses"] = [{**a, **a["shared"], "restrictions": [r for r in a["restrictions"] if r != "hub_only"],
                       "shared": None} for a in h["addresses"] if a.get("shared")]
    real = [e for e in events if e["kind"] == "event"]
    counts: dict[str, int] = {}
    for e in real:
        counts[e["source"]] = counts.get(e["source"], 0) + 1
    h["counts_by_agency"] = dict(sorted(counts.items()))
    w = h.get("harm_window") or {}
    h["harm_events_last_12_months"] = sum(1 for e in real if e.get("harm") and w.get("from", "") <= e["event_date"][:10] <= w.get("to", "9999"))
    h["first_seen"] = min((e["event_date"][:10] for e in real), default=None)
    h["last_seen"] = max((e["event_date"][:10] for e in real), default=None)
    # an alert resting on a hub-only record is left out (a "withheld" note would itself say one exists)
    h["open_alerts"] = screen_alerts(h.get("open_alerts", []),
                                     Lens.of(health_clearance=chron.get("viewer", {}).get("health_clearance", True),
                                             export=True))
    h["header_note"] = "export: hub-only records removed; counts are of the entries shown"
    return {**chron, key: h, "events": events, "export": True}


CSV_COLUMNS = ("event_date", "kind", "source", "event_type", "derived_type", "role", "summary", "others",
               "household_key", "harm", "dash_risk", "initial_rag", "final_rag", "outcome", "presentation",
               "decision_date", "timescale", "timescale_met", "link_probability", "confirmed", "restriction",
               "event_key", "mention_ids")


def _cell(e: dict[str, Any], col: str) -> str:
    if col == "others":
        # words, not codes: the name as that record gave it, the role, the id only as a reference
        return "; ".join(f"{o.get('name') or 'name not recorded'} ({(o['role'] or '').replace('_', ' ')}; {o['person_id']})"
                         for o in e.get("others") or [])
    if col == "timescale":
        t = e.get("timescale")
        return t["timescale"] if t else ""
    if col == "timescale_met":
        t = e.get("timescale")
        return "" if not t or t["met"] is None else ("met" if t["met"] else "missed")
    if col == "link_probability":
        p = (e.get("link") or {}).get("probability")
        return "" if p is None else f"{p:.3f}"
    if col == "confirmed":
        return "confirmed" if (e.get("link") or {}).get("confirmed") else ""
    if col == "mention_ids":
        return ";".join(e.get("mention_ids") or [])
    if col == "role" and e.get("household_members"):
        return "; ".join(f"{m['person_id']} ({m['role']})" for m in e["household_members"])
    v = e.get(col)
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else ""
    return str(v)


def to_csv(chron: dict[str, Any]) -> str:
    """The entries as CSV, one row each (hub_only removed; cells a spreadsheet would run as a
    formula neutralised: core/spreadsheet_cells.py)."""
    chron = export_view(chron)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for e in chron["events"]:
        w.writerow([neutralise(_cell(e, c)) for c in CSV_COLUMNS])
    return buf.getvalue()


def to_html(chron: dict[str, Any]) -> str:
    """A printable page for a case file (hub_only removed)."""
    chron = export_view(chron)
    key = "person" if "person" in chron else "household"
    h = chron[key]
    esc = html.escape
    if key == "person":
        names = [a["name"] for a in h.get("aliases") or [] if a.get("person_id") == h["person_id"] and a.get("name")]
        title = f"Chronology of {names[0]} ({h['person_id']})" if names else f"Chronology of {h['person_id']}"
    else:
        where = next((a.get("address") for a in h.get("addresses") or [] if a.get("address")), None)
        title = f"Chronology of the household at {where}" if where else f"Chronology of household {h['household_key']}"
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{esc(title)}</title><style>",
        "body{font-family:Arial,sans-serif;font-size:10pt;margin:1.5cm}h1{font-size:14pt}h2{font-size:11pt}"
        "table{border-collapse:collapse;width:100%}td,th{border:1px solid #999;padding:3px;vertical-align:top;text-align:left}"
        "th{background:#eee}tr.harm td{background:#fdecea}tr.derived td{font-style:italic;background:#f5f5f5}"
        ".missed{color:#b00;font-weight:bold}@media print{tr{page-break-inside:avoid}}",
        "</style></head><body>",
        f"<h1>{esc(title)}</h1><p>OFFICIAL-SENSITIVE. Produced {esc(date.today().isoformat())}. "
        "Hub-only records are not included in this export.</p>",
    ]
    if h.get("note"):
        parts.append(f"<p><strong>{esc(h['note'])}</strong></p>")
    if key == "household":
        parts.append(f"<p>Members: {esc(', '.join(h['members']))}</p>")
    parts.append("<h2>Summary</h2><table>")
    parts.append(f"<tr><th>First seen</th><td>{esc(str(h['first_seen']))}</td><th>Last seen</th><td>{esc(str(h['last_seen']))}</td></tr>")
    counts = ", ".join(f"{s}: {n}" for s, n in h["counts_by_agency"].items())
    parts.append(f"<tr><th>Events by agency</th><td>{esc(counts)}</td>"
                 f"<th>Harm events, 12 months to {esc((h.get('harm_window') or {}).get('to', ''))}</th>"
                 f"<td>{h['harm_events_last_12_months']}</td></tr></table>")
    parts.append("<h2>Names and dates of birth recorded</h2><table><tr><th>Person</th><th>Name</th><th>Date of birth</th><th>Agencies</th><th>Records</th></tr>")
    for a in h["aliases"]:
        shown = a["name"] or _references_text(a.get("references") or [])
        parts.append(f"<tr><td>{esc(a['person_id'])}</td><td>{esc(shown)}</td><td>{esc(a['dob'] or '')}</td>"
                     f"<td>{esc(', '.join(a['sources']))}</td><td>{a['records']}</td></tr>")
    parts.append("</table><h2>Addresses over time</h2><table><tr><th>Person</th><th>Address</th><th>Postcode</th><th>From</th><th>To</th></tr>")
    for a in h["addresses"]:
        parts.append(f"<tr><td>{esc(a['person_id'])}</td><td>{esc(a['address'] or a['household_key'])}</td>"
                     f"<td>{esc(a['postcode'] or '')}</td><td>{esc(a['first_seen'])}</td><td>{esc(a['last_seen'])}</td></tr>")
    parts.append("</table><h2>Open alerts</h2>")
    if h.get("open_alerts"):
        parts.append("<table><tr><th>Alert</th><th>Rule</th><th>Severity</th><th>Raised</th><th>Status</th><th>Why</th></tr>")
        for a in h["open_alerts"]:
            parts.append(f"<tr><td>{esc(a['alert_id'])}</td><td>{esc(a['rule'])}</td><td>{esc(a['severity'])}</td>"
                         f"<td>{esc(str(a['raised_at']))[:16]}</td><td>{esc(a['status'])}</td><td>{esc(a['explanation'])}</td></tr>")
        parts.append("</table>")
    else:
        parts.append("<p>None.</p>")
    parts.append("<h2>Chronology</h2><table><tr><th>Date</th><th>Agency</th><th>Event</th><th>Role</th><th>Others</th>"
                 "<th>Household</th><th>Grading / outcome</th><th>Timescale</th><th>Link</th></tr>")
    for e in chron["events"]:
        cls = "derived" if e["kind"] == "derived" else ("harm" if e.get("harm") else "")
        what = e.get("summary") if e["kind"] == "derived" or e.get("restricted") else e.get("event_type")
        grading = "; ".join(f"{k.replace('_', ' ')}: {e[k]}" for k in ("dash_risk", "initial_rag", "final_rag", "outcome", "presentation")
                            if e.get(k))
        ts = e.get("timescale")
        ts_cell = "" if not ts else (f"{ts['timescale']}: " + ("no decision recorded" if ts["met"] is None else
                                                               ("met" if ts["met"] else "<span class='missed'>missed</span>")))
        link = _cell(e, "link_probability")
        if _cell(e, "confirmed"):
            link = (link + " confirmed").strip()
        parts.append(
            f"<tr class='{cls}'><td>{esc(e['event_date'][:16].replace('T', ' '))}</td><td>{esc((e.get('source') or '').replace('_', ' '))}</td>"
            f"<td>{esc(what or '')}</td><td>{esc(_cell(e, 'role'))}</td><td>{esc(_cell(e, 'others'))}</td>"
            f"<td>{esc(e.get('household_key') or '')}</td><td>{esc(grading)}</td><td>{ts_cell}</td><td>{esc(link)}</td></tr>")
    parts.append("</table></body></html>")
    return "\n".join(parts)
