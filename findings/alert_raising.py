"""The triaged queue: tonight's candidates (findings.alert_candidates) into at most one open alert
per person per rule.

- **One open alert per subject and rule.** A candidate is matched to the open alerts (not closed)
  on the same thing: the same ``alert_key``, or the same rule and one of the alert's current
  person ids. When it holds evidence (event keys, mention ids) none of them had, the newest open
  one is *updated*: its evidence, explanation, severity, score and dates become tonight's, its
  evidence items grow, ``updated_at`` is set and a line is appended to its ``updates`` (the
  history: when, which run, what was added, what it said before). An acknowledged alert updated
  after the acknowledgement reads as ``new`` again (the hub has not seen that evidence). Only
  when every earlier alert on it is closed is a new one raised, naming the latest in
  ``previous_alert_id``.
- **The first load is the baseline.** When the store has no alerts and no earlier completed run
  (a first load, or a load into an empty store), every finding is recorded with status
  ``baseline``: the store's history, not news of tonight. ``new_risk_link`` ("recorded in tonight's
  drop") is not evaluated then: on a first load every record is in the drop. The result says so.
- **Identity.** Each alert keeps the subject's own mentions (``subject_mentions``). Before raising,
  every alert's ``person_id`` is set to the person now holding most of those mentions (after a
  merge: the survivor; after a split: the larger part, with ``person_ids`` naming every part).

The run writes only ``alerts``; what users do is appended to ``alert_events`` (intel.alerts), so a
user's acknowledgement never conflicts with a run writing at the same time.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import polars as pl

from findings.alert_candidates import finding_candidates, marac_candidates, new_risk_candidates
from findings.alert_config import alert_config
from findings.as_of import extract_date
from findings.describe import SHARED, in_words
from core.store import Store

ALERT_SCHEMA = {
    "alert_id": pl.Utf8, "alert_key": pl.Utf8, "rule": pl.Utf8, "person_id": pl.Utf8,
    "person_ids": pl.List(pl.Utf8), "household_key": pl.Utf8, "severity": pl.Utf8,
    "raised_at": pl.Datetime("us"), "run_id": pl.Utf8, "explanation": pl.Utf8, "evidence": pl.Utf8,
    "evidence_items": pl.List(pl.Utf8), "subject_mentions": pl.List(pl.Utf8), "first_date": pl.Date,
    "last_date": pl.Date, "finding_key": pl.Utf8, "previous_alert_id": pl.Utf8, "score": pl.Float64,
    "baseline": pl.Boolean, "updated_at": pl.Datetime("us"), "updates": pl.Utf8}


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




def _is_first_load(store: Store) -> bool:
    return not store.scalar("SELECT count(*) FROM alerts") and not store.scalar(
        "SELECT count(*) FROM runs WHERE status = 'completed'")


def _open_alerts(store: Store) -> list[dict[str, Any]]:
    """Every confirmed alert (possible ones are findings/possible_alerts.py's), with whether it is
    closed (latest user action) and what matching needs."""
    return store.rows(
        "WITH latest AS (SELECT alert_id, arg_max(status, acted_at) AS status FROM alert_events GROUP BY alert_id) "
        "SELECT a.alert_id, a.alert_key, a.rule, a.person_id, a.person_ids, a.household_key, a.evidence_items, "
        "a.explanation, a.updates, coalesce(l.status, 'new') = 'closed' AS closed "
        "FROM alerts a LEFT JOIN latest l USING (alert_id) "
        "WHERE a.possible_links IS NULL ORDER BY a.alert_id")   # possible alerts: findings/possible_alerts.py


def raise_alerts(store: Store, run_id: str | None, config: dict[str, Any], *,
                 new_mention_ids: list[str] | None = None, now: datetime | None = None,
                 baseline: bool | None = None) -> dict[str, Any]:
    """Tonight's alerts into the queue: follow merges/splits, evaluate every enabled rule, raise
    what is new and update what is open. ``new_mention_ids``: the mentions tonight's drop brought
    (default: those of drops ingested by ``run_id``). ``baseline``: record as the baseline (default:
    when this is the store's first load). One transaction (joining the run's). Returns counts."""
    acfg = alert_config(config)
    stamp = now or datetime.now()   # updated_at, to the microsecond: compared with acknowledgements
    now = stamp.replace(microsecond=0)
    with store.transaction():
        baseline = _is_first_load(store) if baseline is None else baseline
        followed = follow_identity(store)
        if new_mention_ids is None:
            new_mention_ids = [r["mention_id"] for r in store.rows(
                "SELECT mention_id FROM mentions WHERE drop_id IN (SELECT drop_id FROM drops WHERE run_id = ?)",
                [run_id])] if run_id else []
        as_of = extract_date(store, now)
        candidates = finding_candidates(store, acfg) + marac_candidates(store, acfg, as_of)
        if not baseline:
            candidates += new_risk_candidates(store, acfg, new_mention_ids)
        # words, not codes: names, ages and addresses in every reason (findings.describe), from
        # unrestricted records only: the reason is shown to every viewer the evidence lets see it
        for c, text in zip(candidates, in_words(store, [c["explanation"] for c in candidates], as_of, SHARED)):
            c["explanation"] = text
        existing = _open_alerts(store)
        by_key: dict[str, list[dict[str, Any]]] = {}
        by_person: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for a in existing:
            by_key.setdefault(a["alert_key"], []).append(a)
            for p in {a["person_id"], *(a["person_ids"] or [])} - {None}:
                by_person.setdefault((a["rule"], p), []).append(a)
        # after every alert, possible ones (findings/possible_alerts.py) included
        next_no = 1 + int(store.scalar("SELECT coalesce(max(CAST(substr(alert_id, 2) AS BIGINT)), 0) FROM alerts"))
        holders = _persons_of(store, sorted({m for c in candidates for m in c["mention_ids"]}))
        raised: dict[str, int] = {}
        updated: dict[str, int] = {}
        rows, updates = [], []
        for c in candidates:
            items = sorted(set(c["event_keys"]) | set(c["mention_ids"]))
            earlier = {a["alert_id"]: a for a in by_key.get(c["alert_key"], [])}
            if c["person_id"] is not None:
                earlier.update({a["alert_id"]: a for a in by_person.get((c["rule"], c["person_id"]), [])})
            covered = {i for a in earlier.values() for i in a["evidence_items"]}
            added = sorted(set(items) - covered)
            if not added:
                continue
            subject = sorted(m for m in c["mention_ids"] if holders.get(m) == c["person_id"]) if c["person_id"] else []
            open_ones = [a for a in earlier.values() if not a["closed"]]
            evidence = json.dumps(c["evidence"], default=str, sort_keys=True)
            if open_ones:
                a = max(open_ones, key=lambda x: x["alert_id"])
                history = json.loads(a["updates"] or "[]") + [{
                    "at": now.isoformat(), "run_id": run_id, "added": added, "before": a["explanation"]}]
                a["evidence_items"] = sorted(set(a["evidence_items"]) | set(items))
                a["explanation"] = c["explanation"]
                a["updates"] = json.dumps(history)
                updates.append({"alert_id": a["alert_id"], "severity": c["severity"], "score": c["score"],
                                "household_key": c["household_key"],
                                "explanation": c["explanation"], "evidence": evidence,
                                "evidence_items": a["evidence_items"], "subject_mentions": subject,
                                "first_date": c["first_date"], "last_date": c["last_date"],
                                "finding_key": c["finding_key"], "updated_at": stamp, "updates": a["updates"]})
                updated[c["rule"]] = updated.get(c["rule"], 0) + 1
                continue
            alert_id = f"A{next_no:07d}"
            next_no += 1
            previous = max(earlier) if earlier else None
            rows.append({
                "alert_id": alert_id, "alert_key": c["alert_key"], "rule": c["rule"], "person_id": c["person_id"],
                "person_ids": [c["person_id"]] if c["person_id"] else [], "household_key": c["household_key"],
                "severity": c["severity"], "raised_at": now, "run_id": run_id, "explanation": c["explanation"],
                "evidence": evidence, "evidence_items": items, "subject_mentions": subject,
                "first_date": c["first_date"], "last_date": c["last_date"], "finding_key": c["finding_key"],
                "previous_alert_id": previous, "score": c["score"], "baseline": baseline, "updated_at": None,
                "updates": "[]"})
            raised[c["rule"]] = raised.get(c["rule"], 0) + 1
            new_row = {"alert_id": alert_id, "alert_key": c["alert_key"], "rule": c["rule"], "person_id": c["person_id"],
                       "person_ids": [], "household_key": c["household_key"], "evidence_items": items,
                       "explanation": c["explanation"], "updates": "[]", "closed": False}
            by_key.setdefault(c["alert_key"], []).append(new_row)
            if c["person_id"]:
                by_person.setdefault((c["rule"], c["person_id"]), []).append(new_row)
        if rows:
            store.insert_df("alerts", pl.DataFrame(rows, schema=ALERT_SCHEMA))
        if updates:
            _apply_updates(store, updates)
    result = {"candidates": len(candidates), "raised": len(rows), "raised_by_rule": dict(sorted(raised.items())),
              "updated": len(updates), "updated_by_rule": dict(sorted(updated.items())),
              "raised_again": sum(1 for r in rows if r["previous_alert_id"]), "alerts_followed_identity": followed,
              "as_of": as_of.isoformat() if as_of else None, "new_mentions": len(new_mention_ids),
              "baseline": baseline}
    if baseline:
        result["note"] = (f"first load: {len(rows)} alert(s) recorded as the baseline (status 'baseline'), the "
                          "store's history rather than news of tonight; new_risk_link is not evaluated on a first "
                          "load (every record is in the drop)")
    return result


def _apply_updates(store: Store, updates: list[dict[str, Any]]) -> None:
    cols = ("alert_id", "severity", "score", "household_key", "explanation", "evidence", "evidence_items", "subject_mentions",
            "first_date", "last_date", "finding_key", "updated_at", "updates")
    frame = pl.DataFrame(updates, schema={c: ALERT_SCHEMA[c] for c in cols})
    store.register("_alert_updates", frame)
    try:
        store.execute("UPDATE alerts SET " + ", ".join(f"{c} = u.{c}" for c in cols if c != "alert_id")
                      + " FROM _alert_updates u WHERE alerts.alert_id = u.alert_id")
    finally:
        store.unregister("_alert_updates")
