"""Possible alerts: findings that hold only through links still in clerical review.

Each night (and after each review decision) :func:`sync_possible_alerts`:

- raises an alert with ``possible_links`` (its JSON shows ``"possible": true``) for every
  possible finding (findings/possible.py) not raised before: its explanation names each
  unconfirmed link and its probability, so an analyst can settle them (`intel review`);
- closes every open possible alert whose links are no longer all in review, saying why: a
  person decided the two records are **different** (the finding cannot hold; the decision is
  named), or the two persons are now **one** (a 'same' decision or the night's linking: the rule
  is then raised on that person as a confirmed alert, which names this one as its earlier
  alert), or the night's scores moved a link out of the review band.

Closing appends to ``alert_events`` as a person's close does (by ``intel (review)``); possible
alerts are rows of ``alerts`` like any other, so listing, acknowledging and the audit work on
them unchanged, and ``list_alerts(possible=...)`` filters them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import polars as pl

from core.store import Store
from findings import describe
from findings.as_of import extract_date
from findings.possible import possible_findings
from linkage.review import held_apart, review_links, review_threshold

KEY_PREFIX = "possible:"
CLOSED_BY = "intel (review)"


def _key(finding: dict[str, Any]) -> str:
    return f"{KEY_PREFIX}{finding['rule']}:{finding['group']}"


def _why_closed(store: Store, links: list[dict[str, Any]]) -> str:
    """Why a possible alert's links no longer hold it up, in words for the analyst."""
    persons = {r["mention_id"]: r["person_id"] for r in store.rows(
        "SELECT mention_id, person_id FROM person_mentions WHERE mention_id IN (SELECT unnest(?::VARCHAR[]))",
        [[m for link in links for m in (link["mention_a"], link["mention_b"])]])}
    joined = []
    for link in links:
        a, b = sorted((link["mention_a"], link["mention_b"]))
        rows = store.rows("SELECT decision_id, decision, decided_by FROM link_decisions "
                          "WHERE mention_a = ? AND mention_b = ? ORDER BY decision_id DESC LIMIT 1", [a, b])
        if rows and rows[0]["decision"] == "different":
            return (f"closed: decision {rows[0]['decision_id']} by {rows[0]['decided_by']} says {a} and {b} are "
                    f"different people, so the finding does not hold")
        if persons.get(a) is not None and persons.get(a) == persons.get(b):
            joined.append(f"{a} and {b} are now one person ({persons[a]})")
    if links and len(joined) == len(links):
        return (f"confirmed: {'; '.join(joined)}. The rule is raised on that person as a confirmed alert "
                f"by the next nightly run")
    if joined:
        return (f"partly confirmed: {'; '.join(joined)}. A new possible alert names the links still in review, "
                f"if the finding still needs them")
    return "closed: the links it rested on are no longer in the review band (rescored)"


def sync_possible_alerts(store: Store, run_id: str | None, config: Mapping[str, Any], *,
                         now: datetime | None = None) -> dict[str, Any]:
    """Raise tonight's possible alerts and close those that no longer hold. One transaction."""
    now = (now or datetime.now()).replace(microsecond=0)
    with store.transaction():
        links = review_links(store, config)
        persons = sorted(set(links["person_a"].to_list()) | set(links["person_b"].to_list()))
        found = (possible_findings(store, config, links, held_apart(store, config, persons), review_threshold(config))
                 if persons else [])
        wanted = {_key(f): f for f in found}
        existing = store.rows(
            "SELECT a.alert_id, a.alert_key, a.possible_links, coalesce(l.status, 'new') AS status FROM alerts a "
            "LEFT JOIN (SELECT alert_id, arg_max(status, acted_at) AS status FROM alert_events GROUP BY 1) l "
            "USING (alert_id) WHERE a.possible_links IS NOT NULL ORDER BY a.alert_id")
        known = {r["alert_key"] for r in existing}
        closed = []
        for r in existing:
            if r["status"] != "closed" and r["alert_key"] not in wanted:
                reason = _why_closed(store, json.loads(r["possible_links"]))
                store.execute("INSERT INTO alert_events VALUES (?, ?, 'close', 'closed', ?, ?, ?)",
                              [uuid.uuid4().hex, r["alert_id"], CLOSED_BY, reason, now])
                closed.append({"alert_id": r["alert_id"], "reason": reason})
        next_no = 1 + int(store.rows("SELECT coalesce(max(CAST(substr(alert_id, 2) AS BIGINT)), 0) AS n FROM alerts")
                          [0]["n"])
        rows = []
        fresh = [f for key, f in sorted(wanted.items()) if key not in known]
        # words, not codes (findings.describe): the finding's reason, and each link's two records by
        # their agency, kind and date with the record ids kept as the references `intel review` takes
        # (the reason's names and addresses from unrestricted records only: describe.SHARED)
        said = dict(zip((id(f) for f in fresh), describe.in_words(
            store, [f["explanation"] for f in fresh], extract_date(store, now) if fresh else None, describe.SHARED)))
        recs = describe.records(store, sorted({m for f in fresh for x in f["links"]
                                               for m in (x["mention_a"], x["mention_b"])}))

        def record(m: str) -> str:
            return f"{describe.record_words(recs[m])} [{m}]" if m in recs else m

        for key, f in sorted(wanted.items()):
            if key in known:
                continue
            named = "; ".join(f"{record(x['mention_a'])} and {record(x['mention_b'])} are one person "
                              f"(probability {x['match_probability']:.3f})" for x in f["links"])
            items = sorted({m for x in f["links"] for m in (x["mention_a"], x["mention_b"])})
            rows.append({
                "alert_id": f"A{next_no:07d}", "alert_key": key, "rule": f["rule"], "person_id": f["person_ids"][0],
                "person_ids": f["person_ids"], "household_key": None, "severity": f["severity"], "raised_at": now,
                "run_id": run_id,
                "explanation": (f"Possible {describe.kind(f['rule'])}: {said[id(f)]} It holds only if these links, "
                                f"not yet confirmed, are true: {named}. Settle them in the review queue."),
                # with the records its finding rests on: its reason is the finding's (counts, agencies,
                # dates), so a viewer who may not see one of them may not see the alert (access/lens.py)
                "evidence": json.dumps({"possible": True, "group": f["group"], "links": f["links"],
                                        **_rests_on(f.get("evidence"))}, sort_keys=True),
                "evidence_items": items, "subject_mentions": [], "first_date": f["first_date"],
                "last_date": f["last_date"], "finding_key": None, "previous_alert_id": None,
                "possible_links": json.dumps(f["links"], sort_keys=True)})
            next_no += 1
        if rows:
            store.insert_df("alerts", pl.DataFrame(rows, schema={
                "alert_id": pl.Utf8, "alert_key": pl.Utf8, "rule": pl.Utf8, "person_id": pl.Utf8,
                "person_ids": pl.List(pl.Utf8), "household_key": pl.Utf8, "severity": pl.Utf8,
                "raised_at": pl.Datetime("us"), "run_id": pl.Utf8, "explanation": pl.Utf8, "evidence": pl.Utf8,
                "evidence_items": pl.List(pl.Utf8), "subject_mentions": pl.List(pl.Utf8), "first_date": pl.Date,
                "last_date": pl.Date, "finding_key": pl.Utf8, "previous_alert_id": pl.Utf8,
                "possible_links": pl.Utf8}))
    return {"possible_findings": len(found), "raised": len(rows), "closed": len(closed), "closed_alerts": closed}


def _rests_on(evidence: str | dict[str, Any] | None) -> dict[str, Any]:
    """The events, records and dwellings of a possible finding's evidence (the rule's JSON)."""
    found = json.loads(evidence) if isinstance(evidence, str) else (evidence or {})
    return {k: found[k] for k in ("events", "mention_ids", "households") if found.get(k)}
