"""Alerts: the analytics findings a hub wants to be told about, plus two alert-only rules.

Rules (``[alerts.rules.<rule>]`` in the config: ``enabled``, ``min_severity`` and parameters):
- every analytics rule in ``findings`` (repeat_victim, harm_proximity, victim_offender_overlap,
  serial_perpetrator, escalation, networks): one alert per finding;
- ``marac_criteria``: a domestic-abuse victim meeting a MARAC referral criterion on the data: a
  DASH grading in ``dash_levels``, or ``incidents`` or more domestic-abuse incidents within
  ``window_days`` (SafeLives' 'potential escalation'), counted back from the latest event date;
- ``new_risk_link``: a person with a harm_proximity finding or an offender history appears in
  tonight's drop at a household where a child lives.

**Not raised every night.** A candidate alert is matched to earlier alerts on the same thing (the
same ``alert_key``, or the same rule and a current person id of the earlier alert's subject). It
is raised only when its evidence (event keys and mention ids) holds something none of them had;
the new alert names the latest of them in ``previous_alert_id``.

**Identity.** Each alert keeps the subject's own mentions (``subject_mentions``). Before raising,
every alert's ``person_id`` is set to the person now holding most of those mentions (after a
merge: the survivor; after a split: the larger part, with ``person_ids`` naming every part).

**Lifecycle** new -> acknowledged -> closed, with who, when and why: appended to
``alert_events`` (never updated), so a user's acknowledgement never conflicts with a nightly run
that is writing ``alerts`` at the same time. The status is the latest event's.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta
from collections.abc import Mapping
from typing import Any

import polars as pl

from core.errors import Conflict, IntelError, NotFound
from core.store import Store
from graphs.households import household_spells
from linkage.identity import resolve_person_id

ANALYTICS_RULES = ("repeat_victim", "harm_proximity", "victim_offender_overlap", "serial_perpetrator",
                   "escalation", "networks")
OWN_RULES = ("marac_criteria", "new_risk_link")
STATUSES = ("new", "acknowledged", "closed")
ACTIONS = {"acknowledge": ("new", "acknowledged"), "close": ("acknowledged", "closed")}


def _now() -> datetime:
    return datetime.now().replace(microsecond=0)


# --- configuration ----------------------------------------------------------------------------

def alert_config(config: Mapping[str, Any]) -> dict[str, Any]:
    cfg = config.get("alerts", {})
    order = cfg.get("severity_order", ["low", "medium", "high"])
    rules = cfg.get("rules", {})
    for name, rule in rules.items():
        if not isinstance(rule, dict):
            raise IntelError(f"config [alerts.rules.{name}] must be a table")
        ms = rule.get("min_severity", order[0])
        if ms not in order:
            raise IntelError(f"config [alerts.rules.{name}] min_severity {ms!r} is not one of {order}")
    return {"severity_order": order, "rules": rules}


def _enabled(acfg: dict[str, Any], rule: str) -> bool:
    return bool(acfg["rules"].get(rule, {}).get("enabled", False))


def _severe_enough(acfg: dict[str, Any], rule: str, severity: str) -> bool:
    order = acfg["severity_order"]
    minimum = acfg["rules"].get(rule, {}).get("min_severity", order[0])
    return severity in order and order.index(severity) >= order.index(minimum)


# --- reading ----------------------------------------------------------------------------------

def _list_sql(where: str = "TRUE") -> str:
    """Alerts (those matching ``where``) with their status: the latest alert_event's, else 'new'."""
    return f"""
WITH a AS (SELECT * FROM alerts WHERE {where}),
latest AS (
    SELECT alert_id, status, row_number() OVER (PARTITION BY alert_id ORDER BY acted_at DESC,
                              CASE status WHEN 'closed' THEN 0 ELSE 1 END) AS rn
    FROM alert_events WHERE alert_id IN (SELECT alert_id FROM a))
SELECT a.*, coalesce(l.status, 'new') AS status
FROM a
LEFT JOIN latest l ON l.alert_id = a.alert_id AND l.rn = 1
"""


_LIST_SQL = _list_sql()


def _shape(store: Store, rows: list[dict[str, Any]], with_history: bool = True) -> list[dict[str, Any]]:
    history: dict[str, list[dict[str, Any]]] = {}
    if with_history and rows:
        for h in store.rows("SELECT alert_id, action, status, by_name, reason, acted_at FROM alert_events "
                            "WHERE alert_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY acted_at, action_id",
                            [[r["alert_id"] for r in rows]]):
            history.setdefault(h.pop("alert_id"), []).append(
                {"action": h["action"], "status": h["status"], "by": h["by_name"], "reason": h["reason"], "at": h["acted_at"]})
    subjects = sorted({r["person_id"] for r in rows if r["person_id"]})
    merged = {r["person_id"] for r in store.rows(
        f"SELECT person_id FROM persons WHERE status = 'merged' AND person_id IN ({', '.join('?' * len(subjects))})",
        subjects)} if subjects else set()
    out = []
    for r in rows:
        person = r["person_id"]
        if person in merged:

            person = resolve_person_id(store, person)
        out.append({
            "alert_id": r["alert_id"], "rule": r["rule"], "person_id": person,
            "person_ids": sorted(set(r["person_ids"] or []) | ({person} if person else set())),
            "household_id": r["household_key"], "household_key": r["household_key"],
            "severity": r["severity"], "raised_at": r["raised_at"], "run_id": r["run_id"],
            "status": r["status"], "explanation": r["explanation"], "evidence": json.loads(r["evidence"]),
            "first_date": r["first_date"], "last_date": r["last_date"], "finding_key": r["finding_key"],
            "alert_key": r["alert_key"], "previous_alert_id": r["previous_alert_id"],
            # a finding that holds only through links in clerical review (findings/possible_alerts.py)
            "possible": r.get("possible_links") is not None,
            "possible_links": json.loads(r["possible_links"]) if r.get("possible_links") else [],
            "history": history.get(r["alert_id"], []),
        })
    return out


def list_alerts(store: Store, status: str | None = None, rule: str | None = None, limit: int | None = None,
                offset: int = 0, possible: bool | None = None) -> list[dict[str, Any]]:
    """Alerts, newest first. ``status``: new | acknowledged | closed | all (None = all).
    ``possible``: True only possible alerts, False only confirmed ones, None both."""
    if status not in (None, "all", *STATUSES):
        raise IntelError(f"unknown status {status!r}; use one of {[*STATUSES, 'all']}")
    if limit is not None and limit < 0 or offset < 0:
        raise IntelError("limit and offset must not be negative")
    where, params = [], []
    if status not in (None, "all"):
        where.append("status = ?")
        params.append(status)
    if rule is not None:
        where.append("rule = ?")
        params.append(rule)
    if possible is not None:
        where.append("possible_links IS NOT NULL" if possible else "possible_links IS NULL")
    sql = f"SELECT * FROM ({_LIST_SQL}) t {'WHERE ' + ' AND '.join(where) if where else ''} ORDER BY raised_at DESC, alert_id DESC"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    if offset:
        sql += f" OFFSET {int(offset)}"
    return _shape(store, store.rows(sql, params))


def get_alert(store: Store, alert_id: str) -> dict[str, Any]:
    rows = store.rows(f"SELECT * FROM ({_list_sql('alert_id = ?')}) t", [alert_id])
    if not rows:
        raise NotFound(f"no alert {alert_id!r}")
    return _shape(store, rows)[0]


def list_alerts_for(store: Store, person_ids: list[str], household_key: str | None = None) -> list[dict[str, Any]]:
    """Alerts about any of these (current) person ids or this household."""
    # narrow first (three columns), then the whole rows by primary key
    ids = [r["alert_id"] for r in store.rows(
        "SELECT alert_id FROM alerts WHERE list_contains(?::VARCHAR[], person_id) "
        "OR list_has_any(person_ids, ?::VARCHAR[]) OR household_key = ?", [person_ids, person_ids, household_key])]
    if not ids:
        return []
    marks = ", ".join("?" * len(ids))
    rows = store.rows(f"SELECT * FROM ({_list_sql(f'alert_id IN ({marks})')}) t ORDER BY raised_at DESC, alert_id DESC", ids)
    return _shape(store, rows, with_history=False)


# --- the lifecycle ----------------------------------------------------------------------------

def act_on_alert(store: Store, alert_id: str, action: str, by: str, reason: str) -> dict[str, Any]:
    """Acknowledge (new -> acknowledged) or close (acknowledged -> closed) an alert.

    Appends one row to alert_events. Refuses (store unchanged): an unknown action or an empty
    ``by`` / ``reason`` (IntelError), an unknown alert (NotFound), a transition the alert's
    status does not allow (Conflict)."""
    if action not in ACTIONS:
        raise IntelError(f"unknown action {action!r}; use 'acknowledge' or 'close'")
    if not (by or "").strip():
        raise IntelError("--by: say who is acting on the alert")
    if not (reason or "").strip():
        raise IntelError("--reason: say why")
    before, after = ACTIONS[action]
    with store.transaction():
        current = get_alert(store, alert_id)
        if current["status"] != before:
            raise Conflict(f"alert {alert_id} is {current['status']}; '{action}' needs it to be {before}")
        store.execute("INSERT INTO alert_events VALUES (?, ?, ?, ?, ?, ?, ?)",
                      [uuid.uuid4().hex, alert_id, action, after, by.strip(), reason.strip(), datetime.now()])
    return get_alert(store, alert_id)


# --- raising ----------------------------------------------------------------------------------

def _as_of(store: Store, now: datetime) -> date | None:
    value = store.scalar("SELECT max(event_date) FROM mentions WHERE event_date <= ?", [now])
    return value.date() if isinstance(value, datetime) else value


def _persons_of(store: Store, mention_ids: list[str]) -> dict[str, str]:
    if not mention_ids:
        return {}
    store.register("_alert_mentions", pl.DataFrame({"mention_id": mention_ids}, schema={"mention_id": pl.Utf8}))
    try:
        return {r["mention_id"]: r["person_id"] for r in store.rows(
            "SELECT pm.mention_id, pm.person_id FROM person_mentions pm JOIN _alert_mentions a ON a.mention_id = pm.mention_id")}
    finally:
        store.unregister("_alert_mentions")


def follow_identity(store: Store) -> int:
    """Move every alert onto the person now holding most of its subject's mentions (merges and
    splits); returns how many alerts changed. Call inside the run's transaction."""
    alerts = store.rows("SELECT alert_id, person_id, person_ids, subject_mentions FROM alerts WHERE person_id IS NOT NULL")
    if not alerts:
        return 0
    holder = _persons_of(store, sorted({m for a in alerts for m in (a["subject_mentions"] or [])}))
    changed = []
    for a in alerts:
        counts: dict[str, int] = {}
        for m in a["subject_mentions"] or []:
            if m in holder:
                counts[holder[m]] = counts.get(holder[m], 0) + 1
        if not counts:
            continue
        best = max(counts.values())
        top = sorted(p for p, n in counts.items() if n == best)
        new_id = a["person_id"] if a["person_id"] in top else top[0]
        ids = sorted(counts)
        if new_id != a["person_id"] or ids != sorted(a["person_ids"] or []):
            changed.append((a["alert_id"], new_id, ids))
    if changed:
        frame = pl.DataFrame({"alert_id": [c[0] for c in changed], "person_id": [c[1] for c in changed],
                              "person_ids": [c[2] for c in changed]},
                             schema={"alert_id": pl.Utf8, "person_id": pl.Utf8, "person_ids": pl.List(pl.Utf8)})
        store.register("_follow", frame)
        try:
            store.execute("UPDATE alerts SET person_id = f.person_id, person_ids = f.person_ids FROM _follow f "
                          "WHERE alerts.alert_id = f.alert_id")
        finally:
            store.unregister("_follow")
    return len(changed)


def _finding_candidates(store: Store, acfg: dict[str, Any]) -> list[dict[str, Any]]:
    if "findings" not in store.tables():
        return []
    rules = [r for r in ANALYTICS_RULES if _enabled(acfg, r)] + [
        r for r, v in acfg["rules"].items() if r not in ANALYTICS_RULES and r not in OWN_RULES and v.get("enabled")]
    if not rules:
        return []
    found = store.rows("SELECT * FROM findings WHERE list_contains(?::VARCHAR[], rule) ORDER BY finding_key", [rules])
    out = []
    for f in found:
        if not _severe_enough(acfg, f["rule"], f["severity"]):
            continue
        ev = json.loads(f["evidence"]) if f["evidence"] else {}
        events = list(ev.get("events") or ev.get("event_keys") or [])
        mentions = list(ev.get("mention_ids") or [])
        out.append({"alert_key": f["finding_key"], "rule": f["rule"], "person_id": f["person_id"],
                    "household_key": f["household_key"], "severity": f["severity"], "explanation": f["explanation"],
                    "evidence": ev, "event_keys": events, "mention_ids": mentions,
                    "first_date": f["first_date"], "last_date": f["last_date"], "finding_key": f["finding_key"]})
    return out


def _marac_candidates(store: Store, acfg: dict[str, Any], as_of: date | None) -> list[dict[str, Any]]:
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
            reasons.append(f"a DASH risk grading of {'/'.join(levels)} ({len(high)} incident(s))")
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
            "first_date": min(dates), "last_date": max(dates), "finding_key": None})
    return out


def _new_risk_candidates(store: Store, acfg: dict[str, Any], new_mentions: list[str]) -> list[dict[str, Any]]:
    rule = acfg["rules"].get("new_risk_link", {})
    if not rule.get("enabled") or not new_mentions:
        return []

    offender_roles = list(rule.get("offender_roles", ["suspect", "alleged_perpetrator"]))
    child_roles = list(rule.get("child_roles", []))
    child_age = int(rule.get("child_age", 18))
    store.register("_tonight", pl.DataFrame({"mention_id": list(new_mentions)}, schema={"mention_id": pl.Utf8}))
    try:
        tonight = store.rows(
            "SELECT pm.person_id, m.mention_id, m.event_key, m.event_date, m.household_key FROM mentions m "
            "JOIN _tonight t ON t.mention_id = m.mention_id JOIN person_mentions pm ON pm.mention_id = m.mention_id "
            "WHERE m.household_key IS NOT NULL AND (m.version = 1 OR ? OR m.household_key IS DISTINCT FROM ("
            "  SELECT arg_max(h.household_key, h.version) FROM mentions_history h WHERE h.mention_id = m.mention_id))",
            [bool(rule.get("resent_same_household", False))])
        if not tonight:
            return []
        store.register("_tonight_people", pl.DataFrame({"person_id": sorted({t["person_id"] for t in tonight})},
                                                       schema={"person_id": pl.Utf8}))
        offences: dict[str, list[dict[str, Any]]] = {}
        for r in store.rows(
                "SELECT pm.person_id, m.mention_id, m.event_key FROM person_mentions pm "
                "JOIN _tonight_people tp ON tp.person_id = pm.person_id JOIN mentions m ON m.mention_id = pm.mention_id "
                "WHERE list_contains(?::VARCHAR[], m.role) AND m.mention_id NOT IN (SELECT mention_id FROM _tonight) "
                "ORDER BY m.event_date, m.mention_id", [offender_roles]):
            offences.setdefault(r["person_id"], []).append(r)
        # Households each person was already recorded at before tonight: a risky person seen
        # again at his own long-standing home is known to the hub; the alert is for a new link.
        known_at: set[tuple[str, str]] = set()
        if rule.get("only_new_household", True):
            known_at = {(r["person_id"], r["household_key"]) for r in store.rows(
                "SELECT DISTINCT pm.person_id, m.household_key FROM person_mentions pm "
                "JOIN _tonight_people tp ON tp.person_id = pm.person_id JOIN mentions m ON m.mention_id = pm.mention_id "
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
            "WITH there AS (SELECT DISTINCT pm.person_id FROM mentions m JOIN _risk_households h ON h.household_key = m.household_key "
            "  JOIN person_mentions pm ON pm.mention_id = m.mention_id) "
            "SELECT pm.person_id, m.mention_id, m.event_date::DATE AS date, m.household_key, m.dob, m.role "
            "FROM person_mentions pm JOIN there USING (person_id) JOIN mentions m ON m.mention_id = pm.mention_id")
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
    out = []
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
        if not children:
            continue
        why = []
        if pid in offences:
            why.append(f"an offender history ({len(offences[pid])} record(s) as {'/'.join(offender_roles)})")
        if pid in proximity:
            why.append("a harm_proximity finding")
        kids = ", ".join(f"{q}" + (f" (aged {a})" if a is not None else "") for q, a in sorted(children))
        tonight_ids = sorted(t["mention_id"] for t in ts)
        child_mentions = sorted(m for q, _ in children for m in info[q]["mentions"].get(hh, []))
        mention_ids = tonight_ids + [o["mention_id"] for o in offences.get(pid, [])] + child_mentions
        events = sorted({t["event_key"] for t in ts} | {o["event_key"] for o in offences.get(pid, [])})
        out.append({
            "alert_key": f"new_risk_link:{pid}:{hh}", "rule": "new_risk_link", "person_id": pid, "household_key": hh,
            "severity": rule.get("severity", "high"),
            "explanation": f"{pid}, with {' and '.join(why)}, appears in tonight's drop ({', '.join(tonight_ids)}) "
                           f"at household {hh}, where child(ren) {kids} live.",
            "evidence": {"events": events, "mention_ids": mention_ids, "tonight_mention_ids": tonight_ids,
                         "offender_mention_ids": [o["mention_id"] for o in offences.get(pid, [])],
                         "findings": [f["finding_key"] for f in proximity.get(pid, [])],
                         "households": [hh], "persons": [pid] + sorted(q for q, _ in children)},
            "event_keys": events, "mention_ids": tonight_ids,  # new evidence = a new appearance tonight
            "first_date": on, "last_date": on, "finding_key": None})
    return out


def raise_alerts(store: Store, run_id: str | None, config: Mapping[str, Any], *,
                 new_mention_ids: list[str] | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Raise tonight's alerts: follow merges/splits, evaluate every enabled rule, raise what is new.

    ``new_mention_ids``: the mentions tonight's drop brought (default: those of drops ingested by
    ``run_id``). Writes in one transaction (joining the run's). Returns counts by rule."""
    acfg = alert_config(config)
    now = (now or datetime.now()).replace(microsecond=0)
    with store.transaction():
        followed = follow_identity(store)
        if new_mention_ids is None:
            new_mention_ids = [r["mention_id"] for r in store.rows(
                "SELECT mention_id FROM mentions WHERE drop_id IN (SELECT drop_id FROM drops WHERE run_id = ?)",
                [run_id])] if run_id else []
        as_of = _as_of(store, now)
        candidates = (_finding_candidates(store, acfg) + _marac_candidates(store, acfg, as_of)
                      + _new_risk_candidates(store, acfg, new_mention_ids))
        existing = store.rows("SELECT alert_id, alert_key, rule, person_id, person_ids, household_key, evidence_items "
                              "FROM alerts ORDER BY alert_id")
        by_key: dict[str, list[dict[str, Any]]] = {}
        by_person: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for a in existing:
            by_key.setdefault(a["alert_key"], []).append(a)
            for p in {a["person_id"], *(a["person_ids"] or [])} - {None}:
                by_person.setdefault((a["rule"], p), []).append(a)
        next_no = 1 + max((int(a["alert_id"][1:]) for a in existing), default=0)
        holders = _persons_of(store, sorted({m for c in candidates for m in c["mention_ids"]}))
        raised, rows = {}, []
        for c in candidates:
            items = sorted(set(c["event_keys"]) | set(c["mention_ids"]))
            earlier = {a["alert_id"]: a for a in by_key.get(c["alert_key"], [])}
            if c["person_id"] is not None:
                earlier.update({a["alert_id"]: a for a in by_person.get((c["rule"], c["person_id"]), [])
                                if a["household_key"] == c["household_key"]})
            covered = {i for a in earlier.values() for i in a["evidence_items"]}
            if set(items) <= covered:
                continue
            alert_id = f"A{next_no:07d}"
            next_no += 1
            subject = sorted(m for m in c["mention_ids"] if holders.get(m) == c["person_id"]) if c["person_id"] else []
            previous = max(earlier) if earlier else None
            explanation = c["explanation"] + (f" Raised again with new evidence (earlier alert {previous})." if previous else "")
            rows.append({
                "alert_id": alert_id, "alert_key": c["alert_key"], "rule": c["rule"], "person_id": c["person_id"],
                "person_ids": [c["person_id"]] if c["person_id"] else [], "household_key": c["household_key"],
                "severity": c["severity"], "raised_at": now, "run_id": run_id, "explanation": explanation,
                "evidence": json.dumps(c["evidence"], default=str, sort_keys=True), "evidence_items": items,
                "subject_mentions": subject, "first_date": c["first_date"], "last_date": c["last_date"],
                "finding_key": c["finding_key"], "previous_alert_id": previous})
            raised[c["rule"]] = raised.get(c["rule"], 0) + 1
            new_row = {"alert_id": alert_id, "alert_key": c["alert_key"], "rule": c["rule"], "person_id": c["person_id"],
                       "person_ids": [], "household_key": c["household_key"], "evidence_items": items}
            by_key.setdefault(c["alert_key"], []).append(new_row)
            if c["person_id"]:
                by_person.setdefault((c["rule"], c["person_id"]), []).append(new_row)
        if rows:
            frame = pl.DataFrame(rows, schema={
                "alert_id": pl.Utf8, "alert_key": pl.Utf8, "rule": pl.Utf8, "person_id": pl.Utf8,
                "person_ids": pl.List(pl.Utf8), "household_key": pl.Utf8, "severity": pl.Utf8,
                "raised_at": pl.Datetime("us"), "run_id": pl.Utf8, "explanation": pl.Utf8, "evidence": pl.Utf8,
                "evidence_items": pl.List(pl.Utf8), "subject_mentions": pl.List(pl.Utf8), "first_date": pl.Date,
                "last_date": pl.Date, "finding_key": pl.Utf8, "previous_alert_id": pl.Utf8})
            store.insert_df("alerts", frame)
    return {"candidates": len(candidates), "raised": len(rows), "raised_by_rule": dict(sorted(raised.items())),
            "raised_again": sum(1 for r in rows if r["previous_alert_id"]), "alerts_followed_identity": followed,
            "as_of": as_of.isoformat() if as_of else None, "new_mentions": len(new_mention_ids)}
