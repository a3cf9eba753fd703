"""The entries of a chronology: one per agency event (with this person's role, the others in it,
the household at the time, the decision timescale) and the significant events derived from the
records (first contact with an agency, a change of address, a new adult at the household), each
shown as the viewer's restrictions allow. Built by views/chronology.py."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from access.lens import Lens
from findings.describe import with_postcode
from findings.timescales import WorkingCalendar, decision_timescale


SOURCES = ("police", "social_care", "health")
_EVENT_FIELDS = ("dash_risk", "initial_rag", "final_rag", "decision_date", "outcome", "referral_source",
                 "presentation", "safeguarding_concern", "location_postcode")


# --- helpers ---------------------------------------------------------------------------------

def age_on(dob: date | None, on: date) -> int | None:
    if dob is None:
        return None
    return on.year - dob.year - ((on.month, on.day) < (dob.month, dob.day))


def address_of(rows: list[dict[str, Any]]) -> tuple[str | None, list[dict[str, Any]]]:
    """The address these records (of one dwelling) give most often, as recorded, with its postcode,
    and the records that gave it: those without a restriction first, so words derived from them
    carry no restriction they can avoid (the entry's restriction includes the records used)."""
    pool = [r for r in rows if r.get("address_raw") and r["restriction"] == "none"] or \
        [r for r in rows if r.get("address_raw")]
    if not pool:
        return None, []
    counts: dict[tuple[str, str], int] = {}
    for r in pool:
        k = (r["address_raw"], r.get("postcode") or "")
        counts[k] = counts.get(k, 0) + 1
    best = max(sorted(counts), key=counts.get)
    return with_postcode(best[0], best[1] or None), [r for r in pool if (r["address_raw"], r.get("postcode") or "") == best]


def _name_of(rows: list[dict[str, Any]]) -> str:
    """The name these records of one person give most often, as recorded (forename and surname
    both, where any record has both)."""
    names = [" ".join(p for p in (r.get("forename_raw"), r.get("surname_raw")) if p) for r in rows]
    full = [n for n, r in zip(names, rows) if r.get("forename_raw") and r.get("surname_raw")] or [n for n in names if n]
    return max(sorted(set(full)), key=full.count) if full else ""


def day_of(value: datetime | date) -> date:
    return value.date() if isinstance(value, datetime) else value


def harm_flags(rows: list[dict[str, Any]], harm_cfg: dict[str, Any]) -> list[bool]:
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


def spells_of(rows: list[dict[str, Any]], key: str = "person_id") -> list[dict[str, Any]]:
    """Household spells per person from the given mention rows: graphs.households.household_spells
    (boundary ``midpoint``) row by row, the same spells (tests/intel/test_chronology_spells.py
    compares them). A chronology has tens of rows; a polars frame per call cost ~3 ms of
    polars' own overhead alone, and far more under concurrent requests (its thread pool)."""
    counts: dict[tuple[str, date], dict[str, int]] = {}
    for r in rows:
        hk, pid = r["household_key"], r[key]
        if hk is None or pid is None:
            continue
        day = counts.setdefault((pid, day_of(r["event_date"])), {})
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


def household_on(spells: list[dict[str, Any]], person_id: str, on: date) -> str | None:
    for s in spells:
        if s["person_id"] == person_id and (s["start"] is None or s["start"] <= on) and (s["end"] is None or on < s["end"]):
            return s["household_key"]
    return None


def visibility(row: dict[str, Any], health_clearance: bool, export: bool) -> str:
    """'full', 'masked' (that it happened and when) or 'hidden': the viewer's lens (access/lens.py)."""
    restriction = row["restriction"]
    if restriction == "none":    # most rows: no lens to consult (this runs for every row, several times)
        return "full"
    return Lens.of(health_clearance=health_clearance, export=export).visibility(restriction)


def event_entries(participants: list[dict[str, Any]], rows: list[dict[str, Any]], subjects: list[str],
                   spells: list[dict[str, Any]],
                   health_clearance: bool, export: bool, ccfg: dict[str, Any], *,
                   household_mode: bool = False) -> list[dict[str, Any]]:
    calendar = WorkingCalendar.of(ccfg.get("working_calendar", {}))
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
        masked = all(visibility(r, health_clearance, export) == "masked" for r in own)
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
            entry.update({"event_date": day_of(when).isoformat(), "restricted": True,
                          "summary": "health contact (details restricted: health confidential)"})
            entries.append(entry)
            continue
        full = [r for r in own if visibility(r, health_clearance, export) == "full"]
        first = full[0]
        people = [{"person_id": r["person_id"], "role": r["role"], "mention_id": r["mention_id"],
                   "link_probability": r["link_probability"], "confirmed": bool(r["confirmed"]),
                   "harmed": r["harm"]} for r in full]
        others = []
        for p in others_of.get(event_key, []):
            if p["person_id"] in subject_set or any(p["mention_id"] == r["mention_id"] for r in own):
                continue
            vis = visibility(p, health_clearance, export)
            if vis != "full":
                continue
            name = " ".join(x for x in (p.get("forename_raw"), p.get("surname_raw")) if x) or None
            others.append({"person_id": p["person_id"], "role": p["role"], "name": name})
        hh = first["household_key"] or household_on(spells, first["person_id"], day_of(when))
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


def derived_entries(residents: list[dict[str, Any]], rows: list[dict[str, Any]], spells: list[dict[str, Any]],
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
                out.append(derived_entry(r["event_date"], r["source"], r["event_key"], "first_contact",
                                    f"first contact with {r['source'].replace('_', ' ')}",
                                    mention_ids=[r["mention_id"]], restriction=r["restriction"]))
        # changes of address
        own_spells = sorted((s for s in spells if s["person_id"] == person_id), key=lambda s: s["first_seen"])
        for prev, cur in zip(own_spells, own_spells[1:]):
            support = [r for r in mine if r["household_key"] == cur["household_key"] and day_of(r["event_date"]) == cur["first_seen"]]
            # in words: each dwelling by the address the person's records there give (views: no codes)
            was, said_was = address_of([r for r in mine if r["household_key"] == prev["household_key"]])
            now, said_now = address_of([r for r in mine if r["household_key"] == cur["household_key"]])
            out.append(derived_entry(datetime.combine(cur["first_seen"], time()), None, None, "address_change",
                                f"change of address: from {was or 'an address not recorded'} "
                                f"to {now or 'an address not recorded'}",
                                household_key=cur["household_key"], previous_household_key=prev["household_key"],
                                mention_ids=[r["mention_id"] for r in support],
                                restriction=strictest(support + said_was + said_now)))
        dob = next((r["dob"] for r in mine if r["dob"] is not None), None)
        is_child_role = any(r["role"] in child_roles for r in mine)
        places = [(s["household_key"], s["first_seen"], s["end"]) for s in own_spells]

        def subject_is_child(on: date) -> bool:
            age = age_on(dob, on)
            return age < adult_age if age is not None else is_child_role
    else:
        places = [(household_key, min((day_of(r["event_date"]) for r in rows), default=None), None)]

        def subject_is_child(on: date) -> bool:
            return any((age_on(r["dob"], on) is not None and age_on(r["dob"], on) < adult_age)
                       or (r["dob"] is None and r["role"] in child_roles) for r in rows)
    # new adults recorded at the (child's) household
    keys = [p[0] for p in places if p[0] is not None and p[1] is not None]
    if keys:
        # residents: the linked mentions at these keys (fetched with the participants, _fetch_nearby)
        residents = [r for r in residents if visibility(r, health_clearance, export) == "full"]
        for key, since, until in places:
            if key is None or since is None:
                continue
            firsts: dict[str, dict[str, Any]] = {}
            for r in sorted((r for r in residents if r["household_key"] == key), key=lambda r: (r["event_date"], r["mention_id"])):
                firsts.setdefault(r["person_id"], r)
            for pid, r in firsts.items():
                if pid == person_id:
                    continue
                on = day_of(r["event_date"])
                if on <= since or (until is not None and on >= until):
                    continue
                age = age_on(r["dob"], on)
                adult = age >= adult_age if age is not None else r["role"] in adult_roles
                if adult and subject_is_child(on):
                    name = _name_of([x for x in residents if x["person_id"] == pid and x["restriction"] == "none"] or [r])
                    where, said = address_of([x for x in rows + residents if x["household_key"] == key])
                    who = f"{name} ({'' if age is None else f'{age}, '}{pid})" if name else pid
                    out.append(derived_entry(r["event_date"], None, None, "new_adult_at_household",
                                        f"new adult {who} recorded at the household"
                                        f"{f' at {where}' if where else ''} "
                                        "(new partner; presence of a significant adult)",
                                        household_key=key, other_person_id=pid, mention_ids=[r["mention_id"]],
                                        restriction=strictest([r] + said)))
    return out


def strictest(rows: list[dict[str, Any]]) -> str:
    found = {r["restriction"] for r in rows}
    for level in ("hub_only", "health_confidential"):
        if level in found:
            return level
    return "none"


def derived_entry(when: datetime, source: str | None, event_key: str | None, derived_type: str, summary: str,
             **extra: Any) -> dict[str, Any]:
    return {"kind": "derived", "event_date": when.isoformat(), "source": source, "event_key": event_key,
            "derived_type": derived_type, "summary": summary, "harm": False, **extra}


def references_text(references: list[str], shown: int = 6) -> str:
    """``health records H1, H2 (+3 more): identity held by health`` for an encoded store's alias."""
    if not references:
        return ""
    source = references[0].split(":", 1)[0]
    ids = [r.split(":", 1)[1] for r in references]
    more = f" (+{len(ids) - shown} more)" if len(ids) > shown else ""
    agency = source.replace("_", " ")
    return f"{agency} record{'s' if len(ids) > 1 else ''} {', '.join(ids[:shown])}{more}: identity held by {agency}"
