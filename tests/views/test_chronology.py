"""Chronology: ordering, filters, restricted rows, link confidence, derived events, timescales."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime

import pytest

from findings.timescales import WorkingCalendar, decision_timescale
from views.chronology import chronology
from views.chronology_export import to_csv, to_html
from core.config import load_config
from core.errors import IntelError, NotFound
from core.person_ids import format_person_id

CONFIG = load_config()
# the people of these hand-made rows: P1 a child, P2 her mother, P3 a new partner, P9 merged into P1
P1, P2, P3, P9, P404 = (format_person_id(n) for n in (1, 2, 3, 9, 404))

# --- hand-made rows (shared with test_alerts / test_runs) ------------------------------------

_row = 0


def add_mention(store, source, record_id, event_id, when, role, event_type, person_id, *, forename=None,
                surname=None, dob=None, household=None, restriction="none", prob=None, confirmed=False,
                drop_id="d0", **event):
    """Insert one mention (and its event, once) and tie it to person_id."""
    global _row
    _row += 1
    when = datetime.fromisoformat(when) if isinstance(when, str) else when
    dob = date.fromisoformat(dob) if isinstance(dob, str) else dob
    mid, ekey = f"{source}:{record_id}", f"{source}:{event_id}"
    store.execute(
        "INSERT INTO mentions (mention_id, source, record_id, event_key, event_id, event_date, role, event_type, "
        "forename, surname, dob, forename_raw, surname_raw, household_key, address_raw, restriction, drop_id, file_name, "
        "file_sha256, row_number, ingested_at, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'f.csv', 'x', ?, now(), 1)",
        [mid, source, record_id, ekey, event_id, when, role, event_type, forename, surname, dob,
         forename.title() if forename else None, surname.title() if surname else None, household,
         household.split(":", 1)[1] if household else None, restriction, drop_id, _row])
    store.execute(
        "INSERT INTO events (event_key, source, event_id, event_type, event_date, dash_risk, initial_rag, final_rag, "
        "decision_date, outcome, presentation, safeguarding_concern, drop_id, file_name, file_sha256, row_number, ingested_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'f.csv', 'x', ?, now()) ON CONFLICT DO NOTHING",
        [ekey, source, event_id, event_type, when, event.get("dash_risk"), event.get("initial_rag"),
         event.get("final_rag"), event.get("decision_date"), event.get("outcome"), event.get("presentation"),
         event.get("safeguarding_concern"), drop_id, _row])
    store.execute("INSERT INTO persons VALUES (?, 'active', NULL, now(), NULL) ON CONFLICT DO NOTHING", [person_id])
    store.execute("INSERT INTO person_mentions VALUES (?, ?, ?, ?)", [mid, person_id, prob, confirmed])
    return mid


def merge(store, loser, survivor):
    store.execute("INSERT INTO persons VALUES (?, 'active', NULL, now(), NULL) ON CONFLICT DO NOTHING", [survivor])
    store.execute("UPDATE person_mentions SET person_id = ? WHERE person_id = ?", [survivor, loser])
    store.execute("UPDATE persons SET status = 'merged', merged_into = ? WHERE person_id = ?", [survivor, loser])


def family(store):
    """A child (P1), mother (P2), a new partner (P3) arriving later, across three agencies."""
    H1, H2 = "uprn:100", "uprn:200"
    add_mention(store, "health", "H1", "E1", "2025-01-10T10:00", "patient", "emergency_department", P1,
                forename="amy", surname="jones", dob="2018-03-01", household=H1, prob=0.99,
                presentation="head_injury", safeguarding_concern=True)
    add_mention(store, "health", "H2", "E1", "2025-01-10T10:00", "accompanying_adult", "emergency_department", P2,
                forename="beth", surname="jones", dob="1990-05-05", household=H1)
    add_mention(store, "police", "X1", "I1", "2025-03-01T22:00", "child_present", "domestic_abuse", P1,
                forename="amy", surname="jones", dob="2018-03-01", household=H1, prob=0.97, dash_risk="high")
    add_mention(store, "police", "X2", "I1", "2025-03-01T22:00", "victim", "domestic_abuse", P2,
                forename="beth", surname="jones", household=H1, dash_risk="high")
    add_mention(store, "police", "X3", "I1", "2025-03-01T22:00", "suspect", "domestic_abuse", P3,
                forename="carl", surname="smith", dob="1985-01-01", household=H1, dash_risk="high")
    # social care contact received Friday 16:00, decided Monday 10:00 (amber: 1 working day = 8h; 2h elapsed: met)
    add_mention(store, "social_care", "S1", "C1", "2025-03-07T16:00", "subject_child", "domestic_abuse", P1,
                forename="amelia", surname="jones", dob="2018-03-01", household=H1, prob=0.91, confirmed=True,
                initial_rag="amber", final_rag="red", decision_date=datetime(2025, 3, 10, 10), outcome="s47_enquiry")
    # moved house; a hub-only police record and a health-confidential record
    add_mention(store, "police", "X4", "I2", "2025-06-01T09:00", "subject", "missing_person", P1,
                forename="amy", surname="jones", dob="2018-03-01", household=H2, prob=0.96, restriction="hub_only")
    add_mention(store, "health", "H3", "E2", "2025-07-01T11:00", "patient", "sexual_health", P1,
                forename="amy", surname="secret", dob="2018-03-01", household="uprn:999", prob=0.95,
                restriction="health_confidential", presentation="other")
    add_mention(store, "social_care", "S2", "C2", "2025-08-01T09:00", "subject_child", "neglect", P1,
                forename="amy", surname="jones", dob="2018-03-01", household=H2, prob=0.93,
                initial_rag="red", decision_date=datetime(2025, 8, 1, 15), outcome="assessment")
    return H1, H2


def test_order_header_roles_others_and_link(store):
    family(store)
    c = chronology(store, person_id=P1, today=date(2025, 12, 31), config=CONFIG)
    ev = [e for e in c["events"] if e["kind"] == "event"]
    dates = [e["event_date"] for e in c["events"]]
    assert dates == sorted(dates)
    assert [e["event_key"] for e in ev] == ["health:E1", "police:I1", "social_care:C1", "police:I2", "health:E2", "social_care:C2"]
    i1 = ev[1]
    assert i1["role"] == "child_present" and i1["dash_risk"] == "high" and i1["harm"] is True
    assert sorted((o["person_id"], o["role"]) for o in i1["others"]) == [(P2, "victim"), (P3, "suspect")]
    assert i1["link"] == {"probability": 0.97, "confirmed": False}
    assert ev[2]["link"] == {"probability": 0.91, "confirmed": True}
    assert ev[0]["presentation"] == "head_injury" and ev[0]["household_key"] == "uprn:100"
    p = c["person"]
    assert p["person_id"] == P1 and p["first_seen"] == "2025-01-10" and p["last_seen"] == "2025-08-01"
    assert p["counts_by_agency"] == {"health": 2, "police": 2, "social_care": 2}
    # harm in the 12 months to 2025-12-31: E1 (head injury + concern), I1 (DA child present), C1 (red), C2 (neglect)
    assert p["harm_events_last_12_months"] == 4
    names = {(a["name"], a["dob"]) for a in p["aliases"]}
    assert ("Amelia Jones", "2018-03-01") in names and ("Amy Jones", "2018-03-01") in names
    assert [a["household_key"] for a in p["addresses"]][:2] == ["uprn:100", "uprn:200"]


def test_derived_events(store):
    family(store)
    c = chronology(store, person_id=P1, today=date(2025, 12, 31), config=CONFIG)
    derived = [e for e in c["events"] if e["kind"] == "derived"]
    kinds = [(e["derived_type"], e["event_date"][:10]) for e in derived]
    assert ("first_contact", "2025-01-10") in kinds and ("first_contact", "2025-03-01") in kinds
    assert ("first_contact", "2025-03-07") in kinds
    assert ("address_change", "2025-06-01") in kinds
    new_adult = [e for e in derived if e["derived_type"] == "new_adult_at_household"]
    assert [(e["other_person_id"], e["event_date"][:10]) for e in new_adult] == [(P3, "2025-03-01")]
    assert "new partner" in new_adult[0]["summary"]


def test_derived_events_in_words(store):
    """A move and a new adult name the dwellings by the address as recorded and the adult by name
    and age, never by their keys; words from a restricted record make the entry as restricted."""
    family(store)
    store.execute("UPDATE mentions SET address_raw = '4 Mill Lane', postcode = 'NB1 4QL' WHERE household_key = 'uprn:100'")
    store.execute("UPDATE mentions SET address_raw = CASE WHEN restriction = 'none' THEN '9 High St' ELSE '9 HIGH STREET' "
                  "END, postcode = 'NB2 7XY' WHERE household_key = 'uprn:200'")
    c = chronology(store, person_id=P1, today=date(2025, 12, 31), config=CONFIG)
    derived = {e["derived_type"]: e for e in c["events"] if e["kind"] == "derived"}
    moves = [(e["summary"], e["restriction"]) for e in c["events"] if e.get("derived_type") == "address_change"]
    # each dwelling in the words of its unrestricted records where it has some; the first move rests on
    # the hub_only record of 2025-06-01 and is hub_only; the moves to and from the dwelling only a
    # health_confidential record gives (address "999") are as restricted as that record
    assert moves == [("change of address: from 4 Mill Lane, NB1 4QL to 9 High St, NB2 7XY", "hub_only"),
                     ("change of address: from 9 High St, NB2 7XY to 999", "health_confidential"),
                     ("change of address: from 999 to 9 High St, NB2 7XY", "health_confidential")]
    assert derived["new_adult_at_household"]["summary"] == (
        f"new adult Carl Smith (40, {P3}) recorded at the household at 4 Mill Lane, NB1 4QL "
        "(new partner; presence of a significant adult)")
    exported = chronology(store, person_id=P1, today=date(2025, 12, 31), config=CONFIG, export=True)
    assert all("HIGH STREET" not in e.get("summary", "") and "uprn:" not in e.get("summary", "")
               for e in exported["events"])


def test_timescales_working_calendar():
    cfg = load_config()["chronology"]
    cal = WorkingCalendar(cfg["working_calendar"])
    ts = cfg["timescales"]
    # amber: Friday 16:00 -> Monday 10:00 is 2 working hours: met
    r = decision_timescale(datetime(2025, 3, 7, 16), datetime(2025, 3, 10, 10), "amber", ts, cal)
    assert r["met"] is True and r["elapsed_hours"] == 2
    # amber over Easter: Thursday 17 Apr 2025 16:00 -> Tuesday 22 Apr 10:00; Good Friday, Easter Monday off: 2h
    assert decision_timescale(datetime(2025, 4, 17, 16), datetime(2025, 4, 22, 10), "amber", ts, cal)["elapsed_hours"] == 2
    # red runs out of hours: Saturday 22:00 -> Sunday 03:00 is 5 clock hours: missed
    r = decision_timescale(datetime(2025, 3, 8, 22), datetime(2025, 3, 9, 3), "red", ts, cal)
    assert r["met"] is False and r["elapsed_hours"] == 5
    # green: 3 working days = 24 working hours
    assert decision_timescale(datetime(2025, 3, 3, 9), datetime(2025, 3, 6, 9), "green", ts, cal)["met"] is True
    assert decision_timescale(datetime(2025, 3, 3, 9), datetime(2025, 3, 6, 9, 1), "green", ts, cal)["met"] is False
    assert decision_timescale(datetime(2025, 3, 3, 9), None, "green", ts, cal)["met"] is None
    # a hub's own timescale
    assert decision_timescale(datetime(2025, 3, 3, 9), datetime(2025, 3, 3, 12), "red",
                              {"red": {"hours": 2}}, cal)["met"] is False


def test_timescale_on_entries(store):
    family(store)
    c = chronology(store, person_id=P1, config=CONFIG)
    sc = {e["event_key"]: e["timescale"] for e in c["events"] if e["kind"] == "event" and e["source"] == "social_care"}
    assert sc["social_care:C1"]["met"] is True
    assert sc["social_care:C2"]["met"] is False and sc["social_care:C2"]["elapsed_hours"] == 6


def test_filters(store):
    family(store)
    c = chronology(store, person_id=P1, date_from="2025-03-01", date_to="2025-06-30", config=CONFIG)
    assert {e["event_date"][:10] for e in c["events"]} <= {"2025-03-01", "2025-03-07", "2025-06-01"}
    assert "police:I2" in {e["event_key"] for e in c["events"]}
    c = chronology(store, person_id=P1, sources="police,health", config=CONFIG)
    assert {e["source"] for e in c["events"] if e["kind"] == "event"} == {"police", "health"}
    c = chronology(store, person_id=P1, harm_only=True, config=CONFIG)
    assert {e["event_key"] for e in c["events"]} == {"health:E1", "police:I1", "social_care:C1", "social_care:C2"}
    assert c["person"]["counts_by_agency"]["police"] == 2  # the header describes the whole record
    with pytest.raises(IntelError):
        chronology(store, person_id=P1, sources=["fire"], config=CONFIG)
    with pytest.raises(IntelError):
        chronology(store, person_id=P1, date_from="2025-13-01", config=CONFIG)
    with pytest.raises(NotFound):
        chronology(store, person_id=P404, config=CONFIG)


def test_restricted_rows(store):
    family(store)
    full = chronology(store, person_id=P1, config=CONFIG)
    assert any(e["event_key"] == "health:E2" and e["event_type"] == "sexual_health" for e in full["events"])
    # no health clearance: only that a health contact happened, and when
    c = chronology(store, person_id=P1, health_clearance=False, config=CONFIG)
    e2 = next(e for e in c["events"] if e["event_key"] == "health:E2")
    assert e2["restricted"] is True and e2["event_date"] == "2025-07-01" and e2["source"] == "health"
    assert "event_type" not in e2 and "presentation" not in e2 and "others" not in e2 and "role" not in e2
    assert not any(a["name"] == "Amy Secret" for a in c["person"]["aliases"])
    assert "uprn:999" not in {a["household_key"] for a in c["person"]["addresses"]}
    assert "uprn:999" in {a["household_key"] for a in full["person"]["addresses"]}
    # hub_only never in an export
    exp = chronology(store, person_id=P1, export=True, config=CONFIG)
    assert "police:I2" not in {e["event_key"] for e in exp["events"]}
    for text in (to_csv(full), to_html(full), to_csv(exp), to_html(exp)):
        assert "I2" not in text and "missing_person" not in text and "X4" not in text
    assert "police:I2" in {e["event_key"] for e in full["events"]}  # the hub itself sees it
    rows = list(csv.DictReader(io.StringIO(to_csv(full))))
    assert rows[0]["event_date"].startswith("2025-01-10") and any(r["timescale_met"] == "missed" for r in rows)
    html = to_html(full)
    assert html.startswith("<!DOCTYPE html>") and f"Chronology of Amy Jones ({P1})" in html and "head_injury" in html
    # the household column in words (the address its records give), not the household key
    assert "<td>uprn:100</td>" not in html and "<td>100</td>" in html


def test_merged_id_resolves_and_household(store):
    H1, _ = family(store)
    add_mention(store, "police", "X9", "I9", "2025-09-01T10:00", "victim", "violence", P9,
                forename="amy", surname="jones", dob="2018-03-01", household="uprn:200", prob=0.9)
    merge(store, P9, P1)
    c = chronology(store, person_id=P9, config=CONFIG)
    assert c["person"]["person_id"] == P1 and f"merged into {P1}" in c["person"]["note"]
    assert "police:I9" in {e["event_key"] for e in c["events"]}
    h = chronology(store, household_key=H1, config=CONFIG)
    assert h["household"]["members"] == [P1, P2, P3]
    keys = {e["event_key"] for e in h["events"] if e["kind"] == "event"}
    assert keys == {"health:E1", "police:I1", "social_care:C1"}
    i1 = next(e for e in h["events"] if e["event_key"] == "police:I1")
    assert sorted(m["person_id"] for m in i1["household_members"]) == [P1, P2, P3]
    assert any(e.get("derived_type") == "new_adult_at_household" for e in h["events"])
    with pytest.raises(NotFound):
        chronology(store, household_key="uprn:nowhere", config=CONFIG)


def test_exports_leave_out_alerts_that_rest_on_hub_only_records(store):
    family(store)
    for alert_id, evidence, text in (("A0000001", ["police:X4", "social_care:S2"], "missing on 2025-06-01 secretly"),
                                     ("A0000002", ["police:X1", "health:H1"], "harmed twice in 2025")):
        store.execute(
            "INSERT INTO alerts (alert_id, alert_key, rule, person_id, person_ids, severity, raised_at, explanation, "
            "evidence, evidence_items) VALUES (?, ?, 'repeat_victim', ?, [?], 'high', '2025-09-01', ?, ?, ?)",
            [alert_id, f"k{alert_id}", P1, P1, text, json.dumps({"mention_ids": evidence}), evidence])
    full = chronology(store, person_id=P1, config=CONFIG)
    assert {a["alert_id"]: a["rests_on_hub_only"] for a in full["person"]["open_alerts"]} == {
        "A0000001": True, "A0000002": False}
    assert "secretly" in json.dumps(full, default=str)  # the hub itself sees it
    for text in (to_csv(full), to_html(full)):
        assert "secretly" not in text and "2025-06-01" not in text
    # left out altogether: a "withheld" line would itself say that a hub-only record exists
    assert "harmed twice in 2025" in to_html(full) and "A0000001" not in to_html(full)


def test_windows_count_back_from_the_extract_date_and_dates_as_analysts_write_them(store):
    family(store)
    # no drop: the latest event date (2025-08-01) bounds "the last 12 months", not the clock
    c = chronology(store, person_id=P1, config=CONFIG)
    assert c["person"]["harm_window"]["to"] == "2025-08-01"
    store.execute("INSERT INTO drops (drop_id, path, extract_date, ingested_at) VALUES ('d1', '/x', '2025-09-30', now())")
    c = chronology(store, person_id=P1, config=CONFIG)
    assert c["person"]["harm_window"] == {"from": "2024-10-01", "to": "2025-09-30"}
    assert c["person"]["harm_events_last_12_months"] == 4
    # a date given (UK form) wins; a window that ends before the harm counts none of it
    c = chronology(store, person_id=P1, today="31/12/2024", config=CONFIG)
    assert c["person"]["harm_window"]["to"] == "2024-12-31" and c["person"]["harm_events_last_12_months"] == 0
    assert {e["event_date"][:10] for e in chronology(store, person_id=P1, date_from="01/03/2025", date_to="30/06/2025",
                                                      config=CONFIG)["events"]} <= {"2025-03-01", "2025-03-07", "2025-06-01"}
    with pytest.raises(IntelError, match="write 1993-03-16 or 16/03/1993"):
        chronology(store, person_id=P1, date_from="31/02/2025", config=CONFIG)
    assert "Harm events, 12 months to 2025-09-30" in to_html(chronology(store, person_id=P1, config=CONFIG, export=True))


def test_others_and_titles_in_words(store):
    family(store)
    c = chronology(store, person_id=P1, today=date(2025, 12, 31), config=CONFIG)
    i1 = next(e for e in c["events"] if e.get("event_key") == "police:I1")
    assert all(o["name"] for o in i1["others"])          # each other person's name, as their record gave it
    text = to_csv(c)
    assert f"(victim; {P2})" in text and f"(suspect; {P3})" in text and f"Chronology of Amy Jones ({P1})" in to_html(c)
