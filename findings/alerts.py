"""Alerts as the hub reads and works them: the triaged queue listed (filters checked, strongest
first, with a total), one alert, and the lifecycle.

How alerts are raised and updated (one open alert per person per rule, the first load as the
baseline): findings/alert_raising.py; what each rule says: findings/alert_candidates.py.

**Status** is derived, never stored on the alert: the latest user action in ``alert_events``
(acknowledged, closed), else ``baseline`` for an alert the first load raised and no run has
added to, else ``new``; an acknowledged alert a later run added evidence to reads ``new`` again.

**Order**: severity (high first), then score (how far past its rule's threshold), then the latest
raise or update, newest first.

**Lifecycle** new/baseline -> acknowledged -> closed, with who, when and why: appended to
``alert_events`` (never updated), so a user's acknowledgement never conflicts with a nightly run
that is writing ``alerts`` at the same time.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from access.lens import Lens, alert_restrictions, evidence_tokens, restricted_ids
from core.errors import Conflict, IntelError, NotFound
from core.store import Store
from findings import describe
from findings.evidence_words import evidence_in_words, households_of, people_of
from findings.alert_config import SEVERITIES, STATUS_FILTERS, rule_names
from findings.as_of import extract_date
from core.person_ids import parse_person_id
from linkage.identity import follow_merges, resolve_person_id

ACTIONS = {"acknowledge": (("new", "baseline"), "acknowledged"), "close": (("acknowledged",), "closed")}
_SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}


def triage_columns(store: Store) -> bool:
    """Whether the alerts table has the triage columns (a store last written before them, opened
    read-only, has not been migrated: it reads as it did)."""
    return bool(store.scalar("SELECT count(*) FROM duckdb_columns() WHERE table_name = 'alerts' "
                             "AND column_name IN ('baseline', 'updated_at', 'score', 'updates')") == 4)


def list_sql(where: str = "TRUE", triage: bool = True, columns: str = "*") -> str:
    """Alerts (those matching ``where``) with their derived status (module docstring); ``columns``
    of the alerts table (the narrow list that ranks the whole queue reads only what it sorts on)."""
    old = "" if triage else ", NULL::DOUBLE AS score, FALSE AS baseline, NULL::TIMESTAMP AS updated_at, '[]' AS updates"
    return f"""
WITH a AS (SELECT {columns}{old} FROM alerts WHERE {where}),
latest AS (
    SELECT alert_id, status, acted_at, row_number() OVER (PARTITION BY alert_id ORDER BY acted_at DESC,
                              CASE status WHEN 'closed' THEN 0 ELSE 1 END) AS rn
    FROM alert_events WHERE alert_id IN (SELECT alert_id FROM a))
SELECT a.*,
       CASE WHEN l.status IS NULL THEN
                CASE WHEN coalesce(a.baseline, FALSE) AND a.updated_at IS NULL THEN 'baseline' ELSE 'new' END
            WHEN l.status = 'acknowledged' AND a.updated_at > l.acted_at THEN 'new'
            ELSE l.status END AS status
FROM a
LEFT JOIN latest l ON l.alert_id = a.alert_id AND l.rn = 1
"""


def queue_order(r: dict[str, Any]) -> tuple:
    """Sorted on, descending: severity, score, latest raise or update, alert id."""
    return (_SEVERITY_RANK.get(r["severity"], -1), r.get("score") or 0.0, r.get("updated_at") or r["raised_at"],
            r["alert_id"])


def alert_histories(store: Store, alert_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Each alert's actions (acknowledged, closed: who, when, why), oldest first."""
    history: dict[str, list[dict[str, Any]]] = {}
    for h in store.rows("SELECT alert_id, action, status, by_name, reason, acted_at FROM alert_events "
                        "WHERE alert_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY acted_at, action_id", [alert_ids]):
        history.setdefault(h.pop("alert_id"), []).append(
            {"action": h["action"], "status": h["status"], "by": h["by_name"], "reason": h["reason"], "at": h["acted_at"]})
    return history


def shape_static(store: Store, rows: list[dict[str, Any]], with_subject: bool) -> list[dict[str, Any]]:
    """Alerts as read, without what a request adds (their history, and through the viewer's lens
    their subject and evidence in words): the same for every viewer of one store state.
    ``status`` is the row's (None when not read with it) and ``history`` empty."""
    subjects = sorted({r["person_id"] for r in rows if r["person_id"]})
    merged = {r["person_id"] for r in store.rows(
        f"SELECT person_id FROM persons WHERE status = 'merged' AND person_id IN ({', '.join('?' * len(subjects))})",
        subjects)} if subjects else set()
    out = []
    for r in rows:
        person = r["person_id"]
        if person in merged:
            person = follow_merges(store, person)
        out.append({
            "alert_id": r["alert_id"], "rule": r["rule"], "person_id": person,
            **({"subject": None} if with_subject else {}),
            "person_ids": sorted(set(r["person_ids"] or []) | ({person} if person else set())),
            "household_id": r["household_key"], "household_key": r["household_key"],
            "severity": r["severity"], "score": r.get("score"), "raised_at": r["raised_at"],
            "updated_at": r.get("updated_at"), "run_id": r["run_id"],
            "status": r.get("status"), "explanation": r["explanation"], "evidence": json.loads(r["evidence"]),
            "first_date": r["first_date"], "last_date": r["last_date"], "finding_key": r["finding_key"],
            "alert_key": r["alert_key"], "previous_alert_id": r["previous_alert_id"],
            "updates": json.loads(r.get("updates") or "[]"),
            # a finding that holds only through links in clerical review (findings/possible_alerts.py)
            "possible": r.get("possible_links") is not None,
            "possible_links": json.loads(r["possible_links"]) if r.get("possible_links") else [],
            "history": [],
        })
    return out


def alert_words(store: Store, rows: list[dict[str, Any]], shaped: list[dict[str, Any]], as_of: Any,
           lens: Lens | None) -> list[tuple[str | None, dict[str, Any]]]:
    """Each alert's (subject in words, evidence in words) read through ``lens``: ``rows`` as read
    (their ``alert_id``, ``person_id``, ``household_key``), ``shaped`` as _static made them."""
    if not rows:
        return []
    # the subjects' and the evidence's people and dwellings read once for both (one query each)
    who = describe.people(store, sorted({r["person_id"] for r in rows if r["person_id"]}
                                        | {p for a in shaped for p in people_of(a)}), lens)
    where = describe.addresses(store, sorted({r["household_key"] for r in rows if r["household_key"] and not r["person_id"]}
                                             | {h for a in shaped for h in households_of(a)}), lens)
    subjects = _subject_words(rows, as_of, who, where)
    told = evidence_in_words(store, shaped, as_of, lens, who=who, where=where)
    return [(subjects.get(a["alert_id"]), told[a["alert_id"]]) for a in shaped]


def _shape(store: Store, rows: list[dict[str, Any]], with_history: bool = True,
           lens: Lens | None = None) -> list[dict[str, Any]]:
    """Alerts as read; listed or got one by one (``with_history``) they carry their history, their
    ``subject`` in words (findings.describe) and their evidence in words (``evidence_words``:
    findings.evidence_words), read through ``lens``."""
    out = shape_static(store, rows, with_history)
    if with_history and rows:
        history = alert_histories(store, [r["alert_id"] for r in rows])
        for a in out:
            a["history"] = history.get(a["alert_id"], [])
        as_of = extract_date(store, datetime.now())
        for a, (subject, told) in zip(out, alert_words(store, rows, out, as_of, lens)):
            a["subject"] = subject
            a["evidence_words"] = told
    return out


def open_alerts_with_raw_ids(store: Store) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Every alert not closed, newest first: (the alert shaped as list_alerts_for shapes them,
    without history; its raw row, whose ``person_id`` / ``person_ids`` the lookups match on).
    For the serving snapshot (views/chronology_sources.py), which indexes them in memory."""
    raw = store.rows(f"SELECT * FROM ({list_sql('TRUE', triage_columns(store))}) t WHERE status <> 'closed' "
                     "ORDER BY raised_at DESC, alert_id DESC")
    return list(zip(_shape(store, raw, with_history=False), raw))


def _subject_words(rows: list[dict[str, Any]], as_of: Any, people: dict[str, dict[str, Any]],
                   places: dict[str, str]) -> dict[str, str | None]:
    """Each alert's subject as an analyst reads it: the person's name and age, or the household's
    address (``people`` / ``places``: describe.people / describe.addresses of them)."""
    return {r["alert_id"]: describe.person_words(people.get(r["person_id"]), r["person_id"], as_of) if r["person_id"]
            else places.get(r["household_key"], r["household_key"]) for r in rows}


def check_filters(status: str | None = None, rule: str | None = None, severity: str | None = None,
                  config: Mapping[str, Any] | None = None) -> None:
    """Refuse an unknown status, rule or severity, naming the choices (IntelError: exit 2 / 400)."""
    if status is not None and status not in STATUS_FILTERS:
        raise IntelError(f"unknown status {status!r}; use one of {', '.join(STATUS_FILTERS)}")
    if rule is not None and rule not in (names := rule_names(config)):
        raise IntelError(f"unknown rule {rule!r}; rules are {', '.join(names)}")
    if severity is not None and severity not in SEVERITIES:
        raise IntelError(f"unknown severity {severity!r}; use one of {', '.join(SEVERITIES)}")


def person_filter(store: Store, person_id: str) -> list[str]:
    """The ids an alert must name to be about ``person_id``: it, its survivor and every id merged
    into that (alerts move onto the survivor at the next run). A malformed id: IntelError."""
    person_id = parse_person_id(person_id, "person_id")
    try:
        survivor = resolve_person_id(store, person_id)
    except NotFound:
        survivor = person_id
    return sorted({person_id, survivor} | {r["person_id"] for r in store.rows(
        "SELECT person_id FROM persons WHERE merged_into = ?", [survivor])})


def check_page(limit: int | None, offset: int) -> None:
    if limit is not None and limit < 0 or offset < 0:
        raise IntelError("limit and offset must not be negative")


def list_alerts(store: Store, status: str | None = None, rule: str | None = None, limit: int | None = None,
                offset: int = 0, *, person_id: str | None = None, severity: str | None = None,
                rules: list[str] | None = None, person_ids: list[str] | None = None,
                config: Mapping[str, Any] | None = None, with_total: bool = False,
                possible: bool | None = None, lens: Lens | None = None) -> list[dict[str, Any]] | dict[str, Any]:
    """Alerts, strongest first (module docstring). Filters: ``status`` (new, baseline,
    acknowledged, closed, open = not closed, all/None), ``rule``, ``severity``, ``person_id`` (a
    merged id finds its survivor's alerts), ``possible`` (True only possible alerts, False only
    confirmed ones, None both), and for a restricted lens ``rules`` / ``person_ids`` (only these).
    ``with_total``: ``{"total": n, "items": [...]}`` instead of the list. ``lens``: the viewer's
    (access.lens): an alert whose evidence names a record it does not show in full is left out
    before counting, and the words are read through it."""
    check_filters(status, rule, severity, config)
    check_page(limit, offset)
    where, params = [], []
    if rule is not None:
        where.append("rule = ?")
        params.append(rule)
    if severity is not None:
        where.append("severity = ?")
        params.append(severity)
    if rules is not None:
        where.append("list_contains(?::VARCHAR[], rule)")
        params.append(list(rules))
    if person_id is not None:
        wanted = person_filter(store, person_id)
        where.append("(list_contains(?::VARCHAR[], person_id) OR list_has_any(person_ids, ?::VARCHAR[]))")
        params += [wanted, wanted]
    if person_ids is not None:
        where.append("(list_contains(?::VARCHAR[], person_id) OR list_has_any(person_ids, ?::VARCHAR[]))")
        params += [list(person_ids), list(person_ids)]
    if possible is not None:
        where.append("possible_links IS NOT NULL" if possible else "possible_links IS NULL")
    triage = triage_columns(store)
    screened = lens is not None and not lens.is_open
    # the whole queue narrow (what it is filtered, screened and sorted on), then the page's rows whole
    narrow = "alert_id, severity, raised_at" + (", score, baseline, updated_at" if triage else "") + \
        (", evidence" if screened else "")
    rows = store.rows(list_sql(" AND ".join(where) or "TRUE", triage, narrow), params)
    if status == "open":
        rows = [r for r in rows if r["status"] != "closed"]
    elif status not in (None, "all"):
        rows = [r for r in rows if r["status"] == status]
    if screened:
        evidence = {r["alert_id"]: {"evidence": json.loads(r["evidence"] or "{}")} for r in rows}
        restricted = restricted_ids(store, {t for e in evidence.values() for t in evidence_tokens(e["evidence"])})
        rows = [r for r in rows if lens.sees_all(alert_restrictions(evidence[r["alert_id"]], restricted))]
    rows.sort(key=queue_order, reverse=True)
    total = len(rows)
    ids = [r["alert_id"] for r in rows[offset: None if limit is None else offset + limit]]
    whole = {r["alert_id"]: r for r in store.rows(
        list_sql("alert_id IN (SELECT unnest(?::VARCHAR[]))", triage), [ids])} if ids else {}
    items = _shape(store, [whole[i] for i in ids], lens=lens)
    return {"total": total, "items": items} if with_total else items


def get_alert(store: Store, alert_id: str, lens: Lens | None = None) -> dict[str, Any]:
    """One alert, shaped and in words through ``lens``; NotFound for an unknown alert and, alike,
    for one whose evidence names a record the lens does not show in full (ids are sequential:
    another answer would say that a hidden alert exists, and what it rests on)."""
    rows = store.rows(list_sql("alert_id = ?", triage_columns(store)), [alert_id])
    if rows and lens is not None and not lens.is_open:
        evidence = {"evidence": json.loads(rows[0]["evidence"] or "{}")}
        if not lens.sees_all(alert_restrictions(evidence, restricted_ids(store, evidence_tokens(evidence["evidence"])))):
            rows = []
    if not rows:
        raise NotFound(f"no alert {alert_id!r}")
    return _shape(store, rows, lens=lens)[0]


def list_alerts_for(store: Store, person_ids: list[str], household_key: str | None = None) -> list[dict[str, Any]]:
    """Alerts about any of these (current) person ids or this household, newest first."""
    # narrow first (three columns), then the whole rows by primary key
    ids = [r["alert_id"] for r in store.rows(
        "SELECT alert_id FROM alerts WHERE list_contains(?::VARCHAR[], person_id) "
        "OR list_has_any(person_ids, ?::VARCHAR[]) OR household_key = ?", [person_ids, person_ids, household_key])]
    if not ids:
        return []
    marks = ", ".join("?" * len(ids))
    rows = store.rows(f"SELECT * FROM ({list_sql(f'alert_id IN ({marks})', triage_columns(store))}) t ORDER BY raised_at DESC, alert_id DESC", ids)
    return _shape(store, rows, with_history=False)


def act_on_alert(store: Store, alert_id: str, action: str, by: str, reason: str,
                 lens: Lens | None = None) -> dict[str, Any]:
    """Acknowledge (new or baseline -> acknowledged) or close (acknowledged -> closed) an alert.

    Appends one row to alert_events. Refuses (store unchanged): an unknown action or an empty
    ``by`` / ``reason`` (IntelError), an unknown alert (NotFound), a transition the alert's
    status does not allow (Conflict). ``lens``: the actor's (access.lens); an alert it may not see
    is unknown to them (get_alert), and the alert is returned through it."""
    if action not in ACTIONS:
        raise IntelError(f"unknown action {action!r}; use 'acknowledge' or 'close'")
    if not (by or "").strip():
        raise IntelError("--by: say who is acting on the alert")
    if not (reason or "").strip():
        raise IntelError("--reason: say why")
    before, after = ACTIONS[action]
    with store.transaction():
        current = get_alert(store, alert_id, lens)
        if current["status"] not in before:
            raise Conflict(f"alert {alert_id} is {current['status']}; '{action}' needs it to be {' or '.join(before)}")
        store.execute("INSERT INTO alert_events VALUES (?, ?, ?, ?, ?, ?, ?)",
                      [uuid.uuid4().hex, alert_id, action, after, by.strip(), reason.strip(), datetime.now()])
    return get_alert(store, alert_id, lens)
