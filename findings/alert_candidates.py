"""What each alert rule would say tonight: *candidates* (one per person per rule), before the queue
(findings.alert_raising) decides which are new, which update an open alert and which it already has.

- every analytics rule in ``findings`` (graphs/rules.py): one candidate per finding;
- ``marac_criteria``: a domestic-abuse victim meeting a MARAC referral criterion on the data: a
  DASH grading in ``dash_levels``, or ``incidents`` or more domestic-abuse incidents within
  ``window_days`` (SafeLives' 'potential escalation'), counted back from the extract date;
- ``new_risk_link``: a person with a harm_proximity finding or an offender history recorded in
  tonight's drop at a dwelling where a child lives (every such dwelling tonight in one candidate).

Each candidate has a ``score``: how far past the rule's threshold its evidence is (a finding's
measure over its threshold; incidents over the MARAC count; children at the dwelling), so the
queue can list the strongest first within a severity.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import polars as pl

from findings.alert_config import ANALYTICS_RULES, OWN_RULES, enabled, severe_enough
from graphs.households import household_spells
from core.store import Store

# mentions with each one's household as its dwelling (findings.dwellings); the sent key as household_key_sent
PLACED = ("(SELECT m.* REPLACE (coalesce(md.dwelling_key, m.household_key) AS household_key), "
          "m.household_key AS household_key_sent FROM mentions m LEFT JOIN mention_dwellings md USING (mention_id))")


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _ratio(measure: Any, threshold: Any) -> float:
    try:
        return round(float(measure) / float(threshold), 2) if threshold else float(measure or 0)
    except (TypeError, ValueError):
        return 0.0


def finding_candidates(store: Store, acfg: dict[str, Any]) -> list[dict[str, Any]]:
    """One candidate per analytics finding of an enabled rule at or above its min_severity;
    score = the finding's measure over its threshold."""
    if "findings" not in store.tables():
        return []
    rules = [r for r in ANALYTICS_RULES if enabled(acfg, r)] + [
        r for r, v in acfg["rules"].items() if r not in ANALYTICS_RULES and r not in OWN_RULES and v.get("enabled")]
    if not rules:
        return []
    found = store.rows("SELECT * FROM findings WHERE list_contains(?::VARCHAR[], rule) ORDER BY finding_key", [rules])
    out = []
    for f in found:
        if not severe_enough(acfg, f["rule"], f["severity"]):
            continue
        ev = json.loads(f["evidence"]) if f["evidence"] else {}
        events = list(ev.get("events") or ev.get("event_keys") or [])
        mentions = list(ev.get("mention_ids") or [])
        out.append({"alert_key": f["finding_key"], "rule": f["rule"], "person_id": f["person_id"],
                    "household_key": f["household_key"], "severity": f["severity"], "explanation": f["explanation"],
                    "evidence": ev, "event_keys": events, "mention_ids": mentions,
                    "first_date": f["first_date"], "last_date": f["last_date"], "finding_key": f["finding_key"],
                    "score": _ratio(f["measure"], f["threshold"])})
    return out


def marac_candidates(store: Store, acfg: dict[str, Any], as_of: date | None) -> list[dict[str, Any]]:
    """Domestic-abuse victims meeting a MARAC criterion in the window to ``as_of``; score = incidents
    over the rule's count (at least 1 with a DASH grading in ``dash_levels``)."""
    rule = acfg["rules"].get("marac_criteria", {})
    if not rule.get("enabled") or as_of is None:
        return []
    window = int(rule.get("window_days", 365))
    need = int(rule.get("incidents", 3))
    levels = list(rule.get("dash_levels", ["high"]))
    since = as_of - timedelta(days=window)
    rows = store.rows(
        "SELECT pm.person_id, m.mention_id, m.event_key, m.event_date::DATE AS d, e.dash_risk "
        "FROM mentions m JOIN person_mentions pm ON pm.mention_id = m.mention_id "
        "LEFT JOIN events e ON e.event_key = m.event_key "
        "WHERE list_contains(?::VARCHAR[], m.source) AND list_contains(?::VARCHAR[], m.event_type) "
        "AND list_contains(?::VARCHAR[], m.role) AND m.event_date::DATE > ? AND m.event_date::DATE <= ? "
        "ORDER BY pm.person_id, m.event_date, m.mention_id",
        [list(rule.get("sources", ["police"])), list(rule.get("event_types", ["domestic_abuse"])),
         list(rule.get("roles", ["victim"])), since, as_of])
    by_person: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_person.setdefault(r["person_id"], []).append(r)
    out = []
    for pid, rs in by_person.items():
        incidents = sorted({r["event_key"] for r in rs})
        high = sorted({r["event_key"] for r in rs if r["dash_risk"] in levels})
        reasons = []
        if high:
            reasons.append(f"a DASH risk grading of {'/'.join(levels)} ({_n(len(high), 'incident')})")
        if len(incidents) >= need:
            reasons.append(f"{len(incidents)} domestic-abuse incidents in the {window} days to {as_of} "
                           f"(potential escalation: {need} or more)")
        if not reasons:
            continue
        dates = [r["d"] for r in rs]
        out.append({
            "alert_key": f"marac_criteria:{pid}", "rule": "marac_criteria", "person_id": pid, "household_key": None,
            "severity": rule.get("severity", "high"),
            "explanation": f"{pid} is a domestic-abuse victim meeting a MARAC referral criterion: " + " and ".join(reasons) + ".",
            "evidence": {"events": incidents, "mention_ids": [r["mention_id"] for r in rs], "persons": [pid],
                         "dash_high_events": high, "incidents_in_window": len(incidents),
                         "window": {"from": (since + timedelta(days=1)).isoformat(), "to": as_of.isoformat()}},
            "event_keys": incidents, "mention_ids": [r["mention_id"] for r in rs],
            "first_date": min(dates), "last_date": max(dates), "finding_key": None,
            "score": max(_ratio(len(incidents), need), 1.0 if high else 0.0)})
    return out


def new_risk_candidates(store: Store, acfg: dict[str, Any], new_mentions: list[str]) -> list[dict[str, Any]]:
    """A risky person recorded tonight at a dwelling where a child lives: one candidate per person
    (every such dwelling tonight in it); score = the children there."""
    rule = acfg["rules"].get("new_risk_link", {})
    if not rule.get("enabled") or not new_mentions:
        return []
    offender_roles = list(rule.get("offender_roles", ["suspect", "alleged_perpetrator"]))
    child_roles = list(rule.get("child_roles", []))
    child_age = int(rule.get("child_age", 18))
    store.register("_tonight", pl.DataFrame({"mention_id": list(new_mentions)}, schema={"mention_id": pl.Utf8}))
    try:
        tonight = store.rows(
            f"SELECT pm.person_id, m.mention_id, m.event_key, m.event_date, m.household_key FROM {PLACED} m "
            "JOIN _tonight t ON t.mention_id = m.mention_id JOIN person_mentions pm ON pm.mention_id = m.mention_id "
            "WHERE m.household_key IS NOT NULL AND (m.version = 1 OR ? OR m.household_key_sent IS DISTINCT FROM ("
            "  SELECT arg_max(h.household_key, h.version) FROM mentions_history h WHERE h.mention_id = m.mention_id))",
            [bool(rule.get("resent_same_household", False))])
        if not tonight:
            return []
        store.register("_tonight_people", pl.DataFrame({"person_id": sorted({t["person_id"] for t in tonight})},
                                                       schema={"person_id": pl.Utf8}))
        offences: dict[str, list[dict[str, Any]]] = {}
        for r in store.rows(
                "SELECT pm.person_id, m.mention_id, m.event_key FROM person_mentions pm "
                f"JOIN _tonight_people tp ON tp.person_id = pm.person_id JOIN {PLACED} m ON m.mention_id = pm.mention_id "
                "WHERE list_contains(?::VARCHAR[], m.role) AND m.mention_id NOT IN (SELECT mention_id FROM _tonight) "
                "ORDER BY m.event_date, m.mention_id", [offender_roles]):
            offences.setdefault(r["person_id"], []).append(r)
        # Households each person was already recorded at before tonight: a risky person seen
        # again at his own long-standing home is known to the hub; the alert is for a new link.
        known_at: set[tuple[str, str]] = set()
        if rule.get("only_new_household", True):
            known_at = {(r["person_id"], r["household_key"]) for r in store.rows(
                "SELECT DISTINCT pm.person_id, m.household_key FROM person_mentions pm "
                f"JOIN _tonight_people tp ON tp.person_id = pm.person_id JOIN {PLACED} m ON m.mention_id = pm.mention_id "
                "WHERE m.household_key IS NOT NULL AND m.mention_id NOT IN (SELECT mention_id FROM _tonight)")}
        proximity: dict[str, list[dict[str, Any]]] = {}
        if "findings" in store.tables():
            for f in store.rows("SELECT f.finding_key, f.person_id FROM findings f JOIN _tonight_people tp "
                                "ON tp.person_id = f.person_id WHERE list_contains(?::VARCHAR[], f.rule)",
                                [list(rule.get("proximity_rules", ["harm_proximity"]))]):
                proximity.setdefault(f["person_id"], []).append(f)
    finally:
        store.unregister("_tonight")
        store.unregister("_tonight_people")
    risky = [t for t in tonight if (t["person_id"] in offences or t["person_id"] in proximity)
             and (t["person_id"], t["household_key"]) not in known_at]
    if not risky:
        return []
    households = sorted({t["household_key"] for t in risky})
    # who lives at those households (spells over every mention of anyone recorded there)
    store.register("_risk_households", pl.DataFrame({"household_key": households}, schema={"household_key": pl.Utf8}))
    try:
        at = store.rows(
            f"WITH there AS (SELECT DISTINCT pm.person_id FROM {PLACED} m JOIN _risk_households h ON h.household_key = m.household_key "
            "  JOIN person_mentions pm ON pm.mention_id = m.mention_id) "
            "SELECT pm.person_id, m.mention_id, m.event_date::DATE AS date, m.household_key, m.dob, m.role "
            f"FROM person_mentions pm JOIN there USING (person_id) JOIN {PLACED} m ON m.mention_id = pm.mention_id")
    finally:
        store.unregister("_risk_households")
    frame = pl.DataFrame({"person_id": [r["person_id"] for r in at], "date": [r["date"] for r in at],
                          "household_key": [r["household_key"] for r in at]},
                         schema={"person_id": pl.Utf8, "date": pl.Date, "household_key": pl.Utf8})
    spells_of: dict[str, list[dict[str, Any]]] = {}
    for sp in household_spells(frame).to_dicts():
        spells_of.setdefault(sp["person_id"], []).append(sp)
    info: dict[str, dict[str, Any]] = {}
    residents: dict[str, set[str]] = {}
    for r in at:
        i = info.setdefault(r["person_id"], {"dob": None, "child_role": False, "mentions": {}})
        i["dob"] = i["dob"] or r["dob"]
        i["child_role"] = i["child_role"] or r["role"] in child_roles
        i["mentions"].setdefault(r["household_key"], []).append(r["mention_id"])
        if r["household_key"] is not None:
            residents.setdefault(r["household_key"], set()).add(r["person_id"])

    def lives_at(pid: str, hh: str, on: date) -> bool:
        return any(s["household_key"] == hh and (s["start"] is None or s["start"] <= on)
                   and (s["end"] is None or on < s["end"]) for s in spells_of.get(pid, []))

    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for t in risky:
        grouped.setdefault((t["person_id"], t["household_key"]), []).append(t)
    per_person: dict[str, list[dict[str, Any]]] = {}
    for (pid, hh), ts in sorted(grouped.items()):
        on = max(t["event_date"] for t in ts).date()
        children = []
        for q in sorted(residents.get(hh, set())):
            i = info[q]
            if q == pid or not lives_at(q, hh, on):
                continue
            age = None if i["dob"] is None else on.year - i["dob"].year - ((on.month, on.day) < (i["dob"].month, i["dob"].day))
            if (age is not None and 0 <= age < child_age) or (age is None and i["child_role"]):
                children.append((q, age))
        if children:
            per_person.setdefault(pid, []).append({"household": hh, "on": on, "tonight": ts, "children": children})
    out = []
    for pid, places in per_person.items():
        why = []
        if pid in offences:
            why.append(f"an offender history ({_n(len(offences[pid]), 'record')} as {' or '.join(r.replace('_', ' ') for r in offender_roles)})")
        if pid in proximity:
            why.append("a harm_proximity finding")
        tonight_ids = sorted(t["mention_id"] for p in places for t in p["tonight"])
        children = sorted({c for p in places for c in p["children"]})
        child_mentions = sorted(m for p in places for q, _ in p["children"] for m in info[q]["mentions"].get(p["household"], []))
        mention_ids = tonight_ids + [o["mention_id"] for o in offences.get(pid, [])] + child_mentions
        events = sorted({t["event_key"] for p in places for t in p["tonight"]} | {o["event_key"] for o in offences.get(pid, [])})
        where = "; ".join(f"{p['household']}, where "
                          + ", ".join(q + (" (a child by role)" if a is None else "") for q, a in sorted(p["children"]))
                          + (" lives" if len(p["children"]) == 1 else " live") for p in places)
        on = max(p["on"] for p in places)
        out.append({
            "alert_key": f"new_risk_link:{pid}", "rule": "new_risk_link", "person_id": pid,
            "household_key": places[0]["household"] if len(places) == 1 else None,
            "severity": rule.get("severity", "high"),
            "explanation": f"{pid}, with {' and '.join(why)}, is recorded in tonight's drop ({', '.join(tonight_ids)}) "
                           f"at {where}.",
            "evidence": {"events": events, "mention_ids": mention_ids, "tonight_mention_ids": tonight_ids,
                         "offender_mention_ids": [o["mention_id"] for o in offences.get(pid, [])],
                         "findings": [f["finding_key"] for f in proximity.get(pid, [])],
                         "households": sorted({p["household"] for p in places}),
                         "persons": [pid] + sorted({q for q, _ in children})},
            "event_keys": events, "mention_ids": tonight_ids,  # new evidence = a new appearance tonight
            "first_date": min(p["on"] for p in places), "last_date": on, "finding_key": None,
            "score": float(len({q for q, _ in children}))})
    return out
