"""A small hand-built hub whose every metric is known (tests/findings/test_metrics.py lists them):
rows written straight into the store, each person and link decided by hand."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.store import Store

NOW = datetime(2026, 4, 1, 12, 0)


def _dt(s: str | None) -> datetime | None:
    return datetime.fromisoformat(s) if s else None


def add_event(store: Store, source: str, event_id: str, when: str, event_type: str,
              people: list[tuple[str, str, str | None, str]], **fields: Any) -> None:
    """One event and its mentions: people are (person_id, role, person_ref, restriction)."""
    store.execute(
        "INSERT INTO events (event_key, source, event_id, event_type, event_date, dash_risk, referral_source, "
        "initial_rag, final_rag, decision_date, outcome, presentation, safeguarding_concern, drop_id, file_name, "
        "file_sha256, row_number, ingested_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'd1', 'f.csv', 'x', 1, ?)",
        [f"{source}:{event_id}", source, event_id, event_type, _dt(when), fields.get("dash_risk"),
         fields.get("referral_source"), fields.get("initial_rag"), fields.get("final_rag"),
         _dt(fields.get("decision_date")), fields.get("outcome"), fields.get("presentation"),
         fields.get("safeguarding_concern"), NOW])
    for i, (person_id, role, ref, restriction) in enumerate(people):
        record = f"{event_id}-{i}"
        mention = f"{source}:{record}"
        store.execute(
            "INSERT INTO mentions (mention_id, source, record_id, event_key, event_id, event_date, role, event_type, "
            "person_ref, forename, surname, restriction, drop_id, file_name, file_sha256, row_number, ingested_at, version) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'alex', ?, ?, 'd1', 'f.csv', 'x', 1, ?, 1)",
            [mention, source, record, f"{source}:{event_id}", event_id, _dt(when), role, event_type, ref,
             person_id.lower(), restriction, NOW])
        store.execute("INSERT INTO person_mentions VALUES (?, ?, NULL, FALSE)", [mention, person_id])
        store.execute("INSERT INTO persons SELECT ?, 'active', NULL, ?, NULL WHERE NOT EXISTS "
                      "(SELECT 1 FROM persons WHERE person_id = ?)", [person_id, NOW, person_id])


def contact(store: Store, cid: str, when: str, rag: str, decided: str | None, referral: str, final: str | None,
            outcome: str | None, child: str, ref: str, restriction: str = "none") -> None:
    add_event(store, "social_care", cid, when, "neglect", [(child, "subject_child", ref, restriction)],
              initial_rag=rag, decision_date=decided, referral_source=referral, final_rag=final, outcome=outcome)


def build_hub(store: Store) -> None:
    # social care contacts (2026-01-01 is a bank holiday; the working day is 09:00-17:00)
    contact(store, "C0", "2025-03-01T10:00", "red", "2025-03-01T11:00", "police", "red", "assessment", "P3", "A3")
    contact(store, "C9", "2025-04-10T10:00", "red", "2025-04-10T11:00", "police", "red", "assessment", "P4", "A4")
    contact(store, "C1", "2026-01-05T10:00", "red", "2026-01-05T13:00", "police", "red", "s47_enquiry", "P1", "A1")
    contact(store, "C2", "2026-01-09T16:00", "amber", "2026-01-12T10:00", "education", "amber", "assessment", "P2", "A2")
    contact(store, "C3", "2026-01-20T09:00", "green", "2026-01-26T09:00", "health", "green", "early_help", "P1", "A1")
    contact(store, "C4", "2026-02-10T11:00", "amber", None, "police", None, None, "P3", "A3")
    contact(store, "C5", "2026-02-16T09:30", "red", "2026-02-16T15:30", "police", "red", "strategy_discussion", "P1", "A9")
    contact(store, "C11", "2026-02-20T10:00", "red", "2026-02-20T11:00", "police", "red", "assessment", "P30", "A30",
            restriction="hub_only")
    contact(store, "C6", "2026-03-03T10:00", "green", "2026-03-05T10:00", "self", "blue", "nfa", "P2", "A2")
    contact(store, "C7", "2026-03-20T10:00", "amber", "2026-03-23T09:00", "police", "amber", "assessment", "P2", "A2")
    contact(store, "C8", "2026-03-25T10:00", "red", "2026-03-25T11:00", "other_la", "red", "assessment", "P3", "A3")
    contact(store, "C10", "2026-03-30T10:00", "green", "2026-03-30T12:00", "family", "green", "assessment", "P4", "A4")
    # police: domestic abuse victims P10 (ref N1) and P11 (refs N2 and N3: the agency's duplicate)
    da = "domestic_abuse"
    add_event(store, "police", "D1", "2025-12-20T22:00", da, [("P10", "victim", "N1", "none"), ("P20", "suspect", "N20", "none")])
    add_event(store, "police", "D2", "2026-01-15T22:00", da, [("P10", "victim", "N1", "none"), ("P20", "suspect", "N20", "none")])
    add_event(store, "police", "D3", "2026-02-01T22:00", da, [("P11", "victim", "N2", "none"), ("P20", "suspect", "N20", "none")])
    add_event(store, "police", "D4", "2026-02-25T22:00", da, [("P11", "victim", "N3", "none"), ("P20", "suspect", "N20", "none")])
    add_event(store, "police", "D5", "2026-03-10T22:00", "violence", [("P10", "victim", "N1", "none")])
    add_event(store, "police", "D6", "2026-03-12T22:00", da, [("P10", "suspect", "N1", "none"), ("P11", "victim", "N2", "hub_only")])
    # health: P1 at the emergency department; P2 at CAMHS (health_confidential)
    add_event(store, "health", "H1", "2026-01-07T14:00", "emergency_department", [("P1", "patient", "NHS1", "none")])
    add_event(store, "health", "H2", "2026-03-15T14:00", "camhs", [("P2", "patient", "NHS2", "health_confidential")])
    # the clerical review band: P3 and P4 may be one child (0.95); P1's two records are one already;
    # a weak link is below the band
    for a, b, p in (("social_care:C4-0", "social_care:C9-0", 0.95), ("health:H1-0", "social_care:C1-0", 0.97),
                    ("police:D1-1", "social_care:C2-0", 0.4)):
        store.execute("INSERT INTO link_edges VALUES (?, ?, ?, 4.0, 'M1', ?)", [a, b, p, NOW])
    # alerts and what people did with them; nightly runs
    for alert_id, rule, raised in (("A0000001", "repeat_victim", "2026-01-10T08:00"),
                                   ("A0000002", "repeat_victim", "2026-02-05T09:00"),
                                   ("A0000003", "harm_proximity", "2026-03-01T09:00")):
        store.execute("INSERT INTO alerts (alert_id, alert_key, rule, severity, raised_at, explanation, evidence, "
                      "evidence_items) VALUES (?, ?, ?, 'high', ?, 'x', '{}', [])", [alert_id, alert_id, rule, _dt(raised)])
    for alert_id, action, when in (("A0000001", "acknowledge", "2026-01-10T12:00"), ("A0000001", "close", "2026-02-02T10:00"),
                                   ("A0000002", "acknowledge", "2026-02-07T09:00")):
        store.execute("INSERT INTO alert_events VALUES (?, ?, ?, ?, 'a', 'r', ?)",
                      [f"{alert_id}-{action}", alert_id, action, "acknowledged" if action == "acknowledge" else "closed",
                       _dt(when)])
    for run_id, status, start, end in (("R1", "completed", "2026-01-31T02:00", "2026-01-31T02:01"),
                                       ("R2", "failed", "2026-02-28T02:00", "2026-02-28T02:00:30"),
                                       ("R3", "completed", "2026-03-31T02:00", "2026-03-31T02:02")):
        store.execute("INSERT INTO runs (run_id, status, started_at, finished_at) VALUES (?, ?, ?, ?)",
                      [run_id, status, _dt(start), _dt(end)])
