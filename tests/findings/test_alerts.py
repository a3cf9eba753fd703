"""Alerts: each rule on hand-made cases, the triaged queue across nights (one open alert per person per
rule, updated; the first load as the baseline), following merges and splits, filters, lifecycle."""

from __future__ import annotations

import copy
import json
from datetime import datetime

import pytest

from core.config import load_config
from core.errors import Conflict, IntelError, NotFound
from core.person_ids import format_person_id
from findings.alert_raising import raise_alerts as _raise
from findings.alerts import act_on_alert, get_alert, list_alerts
from tests.views.test_chronology import add_mention, merge

NOW = datetime(2026, 1, 1)


def da(store, rec, when, person, dash="standard", role="victim"):
    return add_mention(store, "police", rec, f"I{rec}", when, role, "domestic_abuse", person,
                       forename="x", surname=person.lower(), dob="1990-01-01", household="uprn:1", dash_risk=dash)


def finding(store, key, rule, person, mentions, events, severity="high", household=None):
    ev = json.dumps({"events": events, "mention_ids": mentions, "persons": [person]})
    store.execute("DELETE FROM findings WHERE finding_key = ?", [key])
    store.execute("INSERT INTO findings (finding_key, rule, subject, person_id, household_key, first_date, last_date, "
                  "measure, threshold, severity, explanation, evidence, evidence_hash, computed_at) "
                  "VALUES (?, ?, 'person', ?, ?, '2025-01-01', '2025-06-01', 3, 3, ?, ?, ?, md5(?), now())",
                  [key, rule, person, household, severity, f"{person} found by {rule}", ev, ev])


def raise_alerts(store, run, config=None, **kw):
    """Nights after the first (the baseline has its own test) unless told otherwise."""
    kw.setdefault("baseline", False)
    return _raise(store, run, config if config is not None else load_config(), **kw)


def rules(store, run="r1", **kw):
    """Raised by rule, and updated ones as '<rule> updated'."""
    r = raise_alerts(store, run, now=NOW, **kw)
    return {**r["raised_by_rule"], **{f"{k} updated": v for k, v in r["updated_by_rule"].items()}}


def test_marac_criteria(store):
    da(store, "1", "2025-06-01", "P1", dash="high")                       # DASH high: criterion met
    for i, d in enumerate(("2025-02-01", "2025-05-01", "2025-11-01")):   # 3 in 12 months: met
        da(store, f"2{i}", d, "P2")
    for i, d in enumerate(("2025-05-01", "2025-11-01")):                 # 2 in 12 months: not met
        da(store, f"3{i}", d, "P3", dash="medium")
    for i, d in enumerate(("2023-01-01", "2024-01-01", "2025-11-01")):   # 3, but over three years: not met
        da(store, f"4{i}", d, "P4")
    da(store, "5", "2025-06-01", "P5", dash="high", role="suspect")      # a suspect is not the victim
    assert rules(store) == {"marac_criteria": 2}
    got = {a["person_id"]: a for a in list_alerts(store)}
    assert set(got) == {"P1", "P2"}
    assert "DASH" in got["P1"]["explanation"] and "3 domestic-abuse incidents" in got["P2"]["explanation"]
    assert sorted(got["P2"]["evidence"]["mention_ids"]) == ["police:20", "police:21", "police:22"]
    assert got["P2"]["status"] == "new" and got["P2"]["severity"] == "high"
    # a hub that wants 4 incidents
    cfg = copy.deepcopy(load_config())
    cfg["alerts"]["rules"]["marac_criteria"]["incidents"] = 4
    store.execute("DELETE FROM alerts")
    assert raise_alerts(store, "r2", cfg, now=NOW)["raised_by_rule"] == {"marac_criteria": 1}
    cfg["alerts"]["rules"]["marac_criteria"]["incidents"] = 3


def test_new_risk_link(store):
    H = "uprn:7"
    add_mention(store, "police", "O1", "V1", "2024-01-01", "suspect", "violence", "P1", forename="dan", surname="x",
                dob="1980-01-01", household="uprn:other")
    add_mention(store, "social_care", "C1", "K1", "2025-01-01", "subject_child", "neglect", "P2", forename="kid",
                surname="y", dob="2015-01-01", household=H)
    add_mention(store, "social_care", "C2", "K1", "2025-01-01", "parent_carer", "neglect", "P3", forename="mum",
                surname="y", dob="1988-01-01", household=H)
    # tonight: P1 (offender history) and P3 (none) at H; P1 also at a household with no child
    t1 = add_mention(store, "health", "T1", "E1", "2025-12-30", "accompanying_adult", "emergency_department", "P1",
                     forename="dan", surname="x", dob="1980-01-01", household=H)
    t2 = add_mention(store, "health", "T2", "E1", "2025-12-30", "parent_carer", "emergency_department", "P3",
                     forename="mum", surname="y", dob="1988-01-01", household=H)
    t3 = add_mention(store, "health", "T3", "E2", "2025-12-30", "patient", "gp", "P1", forename="dan", surname="x",
                     dob="1980-01-01", household="uprn:empty")
    assert rules(store, new_mention_ids=[t1, t2, t3]) == {"new_risk_link": 1}
    a = list_alerts(store, rule="new_risk_link")[0]
    assert a["person_id"] == "P1" and a["household_key"] == H and "P2" in a["explanation"]
    assert "police:O1" in a["evidence"]["mention_ids"] and a["evidence"]["tonight_mention_ids"] == [t1]
    # nothing new tonight: nothing raised
    assert rules(store, "r2", new_mention_ids=[]) == {}
    # the same mentions again (a re-run): nothing raised
    assert rules(store, "r3", new_mention_ids=[t1, t2, t3]) == {}
    # a later appearance at a household he is already known at is no new link: nothing raised
    t4 = add_mention(store, "police", "T4", "I9", "2025-12-31", "other", "other", "P1", forename="dan", surname="x",
                     dob="1980-01-01", household=H)
    assert rules(store, "r4", new_mention_ids=[t4]) == {}
    # ... but a household new to him, with a child living there, is
    H2 = "uprn:8"
    add_mention(store, "social_care", "C3", "K2", "2025-06-01", "subject_child", "neglect", "P4", forename="tot",
                surname="z", dob="2020-02-02", household=H2)
    t5 = add_mention(store, "police", "T5", "I10", "2026-01-02", "other", "other", "P1", forename="dan", surname="x",
                     dob="1980-01-01", household=H2)
    # one open alert per person per rule: his alert is updated, not repeated
    assert rules(store, "r5", new_mention_ids=[t5]) == {"new_risk_link updated": 1}
    [second] = list_alerts(store, rule="new_risk_link")
    assert second["alert_id"] == a["alert_id"] and second["status"] == "new"
    assert second["household_key"] == H2 and "P4" in second["explanation"]
    assert second["updates"][0]["added"] == [t5, "police:I10"] or set(second["updates"][0]["added"]) == {t5, "police:I10"}
    assert "P2" in second["updates"][0]["before"]
    # a corrected re-send of that row at the same household is not a new appearance
    store.execute("INSERT INTO mentions_history SELECT *, now(), 'd1' FROM mentions WHERE mention_id = ?", [t5])
    store.execute("UPDATE mentions SET version = 2, event_type = 'violence' WHERE mention_id = ?", [t5])
    store.execute("DELETE FROM alerts WHERE alert_id = ?", [second["alert_id"]])
    assert rules(store, "r6", new_mention_ids=[t5]) == {}
    # ... but one that moves him there from elsewhere is
    store.execute("UPDATE mentions_history SET household_key = 'uprn:elsewhere' WHERE mention_id = ?", [t5])
    assert rules(store, "r7", new_mention_ids=[t5]) == {"new_risk_link": 1}


def test_new_risk_link_everywhere_when_configured(store):
    """A hub that wants every appearance (not only new households) sets only_new_household = false."""
    H = "uprn:7"
    add_mention(store, "police", "O1", "V1", "2024-01-01", "suspect", "violence", "P1", forename="dan", surname="x",
                dob="1980-01-01", household=H)
    add_mention(store, "social_care", "C1", "K1", "2025-01-01", "subject_child", "neglect", "P2", forename="kid",
                surname="y", dob="2015-01-01", household=H)
    t1 = add_mention(store, "police", "T1", "I1", "2025-12-30", "other", "other", "P1", forename="dan", surname="x",
                     dob="1980-01-01", household=H)
    assert rules(store, "q1", new_mention_ids=[t1]) == {}
    cfg = copy.deepcopy(load_config())
    cfg["alerts"]["rules"]["new_risk_link"]["only_new_household"] = False
    assert rules(store, "q2", new_mention_ids=[t1], config=cfg) == {"new_risk_link": 1}


def test_findings_rules_config_and_dedupe(store):
    for i in range(4):
        add_mention(store, "police", f"R{i}", f"I{i}", f"2025-0{i + 1}-01", "victim", "violence", "P1",
                    forename="a", surname="b", dob="1990-01-01")
    add_mention(store, "police", "Q1", "J1", "2025-01-01", "victim", "violence", "P2", forename="c", surname="d")
    finding(store, "repeat_victim:P1", "repeat_victim", "P1", ["police:R0", "police:R1", "police:R2"],
            ["police:I0", "police:I1", "police:I2"])
    finding(store, "harm_proximity:P2", "harm_proximity", "P2", ["police:Q1"], ["police:J1"], severity="low")
    finding(store, "networks:P2", "networks", "P2", ["police:Q1"], ["police:J1"], severity="high")
    cfg = copy.deepcopy(load_config())
    cfg["alerts"]["rules"]["networks"]["enabled"] = False
    raised = raise_alerts(store, "n1", cfg, now=NOW)["raised_by_rule"]
    assert raised == {"repeat_victim": 1}          # harm_proximity low < medium; networks off
    first = list_alerts(store)[0]
    assert first["evidence"]["mention_ids"] == ["police:R0", "police:R1", "police:R2"]
    # night 2: same finding, same evidence: nothing
    assert raise_alerts(store, "n2", cfg, now=NOW)["raised"] == 0
    # night 3: the finding gains an event: raised again, linked to the first
    finding(store, "repeat_victim:P1", "repeat_victim", "P1", ["police:R0", "police:R1", "police:R2", "police:R3"],
            ["police:I0", "police:I1", "police:I2", "police:I3"])
    r = raise_alerts(store, "n3", cfg, now=NOW)
    assert r["raised"] == 0 and r["updated_by_rule"] == {"repeat_victim": 1}   # updated, not repeated
    [same] = list_alerts(store, rule="repeat_victim")
    assert same["alert_id"] == first["alert_id"] and len(same["evidence"]["mention_ids"]) == 4
    assert same["updates"][0]["run_id"] == "n3" and set(same["updates"][0]["added"]) == {"police:R3", "police:I3"}
    # night 4: evidence shrinks (a corrected row): nothing
    finding(store, "repeat_victim:P1", "repeat_victim", "P1", ["police:R0", "police:R3"], ["police:I0", "police:I3"])
    assert raise_alerts(store, "n4", cfg, now=NOW)["raised"] == 0
    # acknowledged, then new evidence: the same alert reads new again
    act_on_alert(store, first["alert_id"], "acknowledge", "ann", "seen")
    add_mention(store, "police", "R4", "I4", "2025-06-01", "victim", "violence", "P1", forename="a", surname="b")
    finding(store, "repeat_victim:P1", "repeat_victim", "P1", ["police:R0", "police:R3", "police:R4"],
            ["police:I0", "police:I3", "police:I4"])
    assert raise_alerts(store, "n5", cfg)["updated"] == 1     # the clock's now: after the acknowledgement
    assert get_alert(store, first["alert_id"])["status"] == "new"
    # closed, then new evidence: a new alert naming the closed one
    act_on_alert(store, first["alert_id"], "acknowledge", "ann", "seen again")
    act_on_alert(store, first["alert_id"], "close", "ann", "done")
    add_mention(store, "police", "R5", "I5", "2025-07-01", "victim", "violence", "P1", forename="a", surname="b")
    finding(store, "repeat_victim:P1", "repeat_victim", "P1", ["police:R0", "police:R5"], ["police:I0", "police:I5"])
    r = raise_alerts(store, "n6", cfg)
    assert r["raised_again"] == 1
    newest = list_alerts(store, rule="repeat_victim", status="new")[0]
    assert newest["previous_alert_id"] == first["alert_id"]


def test_alerts_follow_merge_and_split(store):
    for i, d in enumerate(("2025-02-01", "2025-05-01", "2025-11-01")):
        da(store, f"2{i}", d, "P2")
    da(store, "9", "2025-06-01", "P9", dash="high")
    assert rules(store) == {"marac_criteria": 2}
    # P2 merges into P1 (the older id survives): the alert follows, nothing new is raised
    merge(store, "P2", "P1")
    r = raise_alerts(store, "r2", now=NOW)
    assert r["raised"] == 0 and r["alerts_followed_identity"] == 1
    assert {a["person_id"] for a in list_alerts(store)} == {"P1", "P9"}
    # list_alerts resolves a merged id even before a run has followed it
    merge(store, "P9", "P1")
    assert {a["person_id"] for a in list_alerts(store)} == {"P1"}
    assert raise_alerts(store, "r3", now=NOW)["raised"] == 0
    # a split: two of P1's three incidents move to a new id P7: the alert names both, stays with the larger part
    store.execute("INSERT INTO persons VALUES ('P7', 'active', NULL, now(), NULL)")
    store.execute("UPDATE person_mentions SET person_id = 'P7' WHERE mention_id IN ('police:20')")
    raise_alerts(store, "r4", now=NOW)
    moved = next(a for a in list_alerts(store) if "police:20" in a["evidence"]["mention_ids"])
    assert moved["person_id"] == "P1" and moved["person_ids"] == ["P1", "P7"]
    store.execute("UPDATE person_mentions SET person_id = 'P7' WHERE mention_id IN ('police:21', 'police:22')")
    raise_alerts(store, "r5", now=NOW)
    moved = get_alert(store, moved["alert_id"])
    assert moved["person_id"] == "P7" and moved["person_ids"] == ["P7"]


def test_lifecycle(store):
    da(store, "1", "2025-06-01", "P1", dash="high")
    rules(store)
    aid = list_alerts(store)[0]["alert_id"]
    before = store.content_digest()
    with pytest.raises(Conflict):
        act_on_alert(store, aid, "close", "ann", "done")            # new -> closed is not allowed
    with pytest.raises(NotFound):
        act_on_alert(store, "A9999999", "acknowledge", "ann", "seen")
    with pytest.raises(IntelError):
        act_on_alert(store, aid, "acknowledge", " ", "seen")
    with pytest.raises(IntelError):
        act_on_alert(store, aid, "acknowledge", "ann", "")
    with pytest.raises(IntelError):
        act_on_alert(store, aid, "delete", "ann", "x")
    assert store.content_digest() == before
    a = act_on_alert(store, aid, "acknowledge", "ann", "seen, referred to MARAC coordinator")
    assert a["status"] == "acknowledged" and a["history"][0]["by"] == "ann"
    with pytest.raises(Conflict):
        act_on_alert(store, aid, "acknowledge", "bob", "again")
    a = act_on_alert(store, aid, "close", "bob", "MARAC heard the case")
    assert a["status"] == "closed" and [h["status"] for h in a["history"]] == ["acknowledged", "closed"]
    assert a["history"][1]["reason"] == "MARAC heard the case" and a["history"][1]["at"] is not None
    with pytest.raises(Conflict):
        act_on_alert(store, aid, "close", "bob", "again")
    assert [x["alert_id"] for x in list_alerts(store, status="closed")] == [aid]
    assert list_alerts(store, status="new") == []
    with pytest.raises(IntelError, match="unknown status 'opened'; use one of new, baseline, acknowledged"):
        list_alerts(store, status="opened")
    # the run never touches alert_events: raising again leaves the status
    raise_alerts(store, "r2", now=NOW)
    assert get_alert(store, aid)["status"] == "closed"


def test_config_refused(store):
    cfg = copy.deepcopy(load_config())
    cfg["alerts"]["rules"]["repeat_victim"]["min_severity"] = "extreme"
    with pytest.raises(IntelError):
        raise_alerts(store, "r", cfg)


def test_first_load_is_the_baseline_and_the_next_night_updates(store):
    for i, d in enumerate(("2025-02-01", "2025-05-01", "2025-11-01")):
        da(store, f"2{i}", d, "P2")
    t = da(store, "9", "2025-06-01", "P9", dash="high")
    first = _raise(store, "r1", load_config(), now=NOW, new_mention_ids=["police:20", "police:21", "police:22", t])
    assert first["baseline"] and first["raised"] == 2 and "baseline" in first["note"]
    assert {a["status"] for a in list_alerts(store)} == {"baseline"}
    assert list_alerts(store, status="new") == [] and len(list_alerts(store, status="open")) == 2
    # the next night (not the first any more): one new incident for P2 updates P2's alert
    t2 = da(store, "23", "2025-12-01", "P2")
    second = _raise(store, "r2", load_config(), now=NOW, new_mention_ids=[t2])
    assert not second["baseline"] and second["raised"] == 0 and second["updated_by_rule"] == {"marac_criteria": 1}
    assert [a["person_id"] for a in list_alerts(store, status="new")] == ["P2"]
    assert [a["person_id"] for a in list_alerts(store, status="baseline")] == ["P9"]
    # a baseline alert can be acknowledged
    aid = list_alerts(store, status="baseline")[0]["alert_id"]
    assert act_on_alert(store, aid, "acknowledge", "ann", "known to the hub")["status"] == "acknowledged"


def test_filters_checked_person_filter_order_and_total(store):
    Q0, Q1, Q2 = (format_person_id(n) for n in range(3))   # ids of the form a user can type
    for i in range(4):
        add_mention(store, "police", f"R{i}", f"I{i}", f"2025-0{i + 1}-01", "victim", "violence", Q1,
                    forename="a", surname="b", dob="1990-01-01")
    add_mention(store, "police", "Q1", "J1", "2025-01-01", "victim", "violence", Q2, forename="c", surname="d")
    finding(store, f"repeat_victim:{Q1}", "repeat_victim", Q1, ["police:R0"], ["police:I0"], severity="medium")
    finding(store, f"serial_perpetrator:{Q1}", "serial_perpetrator", Q1, ["police:R1"], ["police:I1"], severity="high")
    finding(store, f"repeat_victim:{Q2}", "repeat_victim", Q2, ["police:Q1"], ["police:J1"], severity="high")
    store.execute("UPDATE findings SET measure = 9 WHERE finding_key = ?", [f"repeat_victim:{Q2}"])   # 3x its threshold
    raise_alerts(store, "r1", now=NOW)
    listed = list_alerts(store)
    assert [(a["severity"], a["person_id"]) for a in listed] == [("high", Q2), ("high", Q1), ("medium", Q1)]
    assert listed[0]["score"] == 3.0 and listed[1]["score"] == 1.0
    assert {a["rule"] for a in list_alerts(store, person_id=Q1)} == {"repeat_victim", "serial_perpetrator"}
    merge(store, Q1, Q0)   # a merged id finds its survivor's alerts
    assert len(list_alerts(store, person_id=Q1)) == 2
    page = list_alerts(store, limit=1, offset=1, with_total=True)
    assert page["total"] == 3 and [a["person_id"] for a in page["items"]] == [Q0]
    assert list_alerts(store, severity="medium", with_total=True)["total"] == 1
    before = store.content_digest()
    for kwargs, message in [({"rule": "repeat_victims"}, "unknown rule 'repeat_victims'; rules are repeat_victim, "),
                            ({"status": "neu"}, "unknown status 'neu'; use one of new, baseline"),
                            ({"severity": "urgent"}, "unknown severity 'urgent'; use one of low, medium, high"),
                            ({"person_id": "P1"}, "person_id 'P1' is not a person id: old person ids are P followed by exactly 8 digits"),
                            ({"person_id": Q1[:-1] + ("A" if Q1[-1] != "A" else "B")}, "wrong check letter")]:
        with pytest.raises(IntelError, match=message):
            list_alerts(store, **kwargs)
    assert store.content_digest() == before


def test_new_alert_ids_follow_possible_alerts_too(store):
    """A possible alert (findings/possible_alerts.py) holds an id the queue must not reuse."""
    da(store, "1", "2025-06-01", "P1", dash="high")
    store.execute("INSERT INTO alerts (alert_id, alert_key, rule, person_id, person_ids, severity, raised_at, explanation, "
                  "evidence, evidence_items, possible_links) VALUES ('A0000007', 'possible:x', 'repeat_victim', 'P9', "
                  "['P9'], 'low', now(), 'possible', '{}', [], '[]')")
    assert rules(store) == {"marac_criteria": 1}
    assert {a["alert_id"] for a in list_alerts(store, status="all")} == {"A0000007", "A0000008"}


def test_a_page_of_the_queue_is_each_alert_as_read_alone(store):
    """The queue is ranked on a narrow read and its page read whole afterwards: every page holds
    what reading each alert alone (get_alert) gives, in the order of the whole list."""
    from access.lens import Lens
    people = [format_person_id(n) for n in range(1, 6)]
    for i, p in enumerate(people):
        for j in range(3):
            add_mention(store, "police", f"R{i}{j}", f"I{i}{j}", f"2025-0{j + 1}-0{i + 1}", "victim", "violence", p,
                        forename="a", surname=f"b{i}", dob="1990-01-01")
        finding(store, f"repeat_victim:{p}", "repeat_victim", p, [f"police:R{i}0"], [f"police:I{i}0"],
                severity=("high", "medium")[i % 2])
        store.execute("UPDATE findings SET measure = ? WHERE finding_key = ?", [3 + i, f"repeat_victim:{p}"])
    store.execute("UPDATE mentions SET restriction = 'hub_only' WHERE mention_id = 'police:R10'")
    raise_alerts(store, "r1", now=NOW)
    act_on_alert(store, list_alerts(store)[2]["alert_id"], "acknowledge", "ann", "seen")
    for lens in (None, Lens.of(), Lens.of(health_clearance=False, export=True)):
        for status in ("open", "new", "acknowledged", "all"):
            whole = list_alerts(store, status=status, lens=lens)
            paged = [a for k in range(len(whole) + 1)
                     for a in list_alerts(store, status=status, limit=1, offset=k, lens=lens)]
            assert paged == whole
            assert [a["alert_id"] for a in whole] == [a["alert_id"] for a in whole
                                                      if lens is None or lens.is_open or a["person_id"] != people[1]]
            if lens is None:
                assert whole == [get_alert(store, a["alert_id"]) for a in whole]
    assert len(list_alerts(store, status="all")) == 5
    assert len(list_alerts(store, status="all", lens=Lens.of(export=True))) == 4   # the hub_only record's alert
