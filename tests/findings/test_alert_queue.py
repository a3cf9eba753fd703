"""The alert queue kept in memory (findings/alert_queue.py) answers exactly as list_alerts reads
from SQL: every page, total, filter and refusal, in the open lens and restricted ones; and an
alert acknowledged or closed after the queue was read shows its new status and history at once."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from access.lens import Lens
from core.config import load_config
from core.errors import IntelError
from core.person_ids import format_person_id
from findings import alert_queue
from findings.alert_queue import AlertQueue, marac_scope
from findings.alerts import act_on_alert, list_alerts
from tests.findings.test_alerts import NOW, da, finding, raise_alerts
from tests.views.test_chronology import add_mention, merge

LENSES = (None, Lens.of(), Lens.of(health_clearance=False), Lens.of(export=True),
          Lens.of(health_clearance=False, export=True))
PEOPLE = [format_person_id(n) for n in range(1, 7)]


def world(store) -> None:
    """Six people's repeat_victim alerts (one resting on a hub_only record, one on a health one
    masked without clearance, one about a merged id), two marac_criteria alerts, a possible one."""
    for i, p in enumerate(PEOPLE):
        for j in range(3):
            add_mention(store, "police", f"R{i}{j}", f"I{i}{j}", f"2025-0{j + 1}-0{i + 1}", "victim", "violence", p,
                        forename="a", surname=f"b{i}", dob="1990-01-01", household=f"uprn:{i}")
        finding(store, f"repeat_victim:{p}", "repeat_victim", p, [f"police:R{i}0"], [f"police:I{i}0"],
                severity=("high", "medium")[i % 2], household=f"uprn:{i}")
        store.execute("UPDATE findings SET measure = ? WHERE finding_key = ?", [3 + i, f"repeat_victim:{p}"])
    store.execute("UPDATE mentions SET restriction = 'hub_only' WHERE mention_id = 'police:R10'")
    store.execute("UPDATE mentions SET restriction = 'health_confidential' WHERE event_key = 'police:I20'")
    # a name only a cleared viewer reads: the words differ by lens for an alert every lens sees
    store.execute("UPDATE mentions SET restriction = 'health_confidential', forename_raw = 'Hidden' "
                  "WHERE mention_id IN ('police:R31', 'police:R32')")
    store.execute("UPDATE mentions SET forename_raw = NULL, surname_raw = NULL WHERE mention_id = 'police:R30'")
    da(store, "91", "2025-06-01", PEOPLE[4], dash="high")
    da(store, "92", "2025-06-01", PEOPLE[5], dash="high")
    raise_alerts(store, "r1", now=NOW)
    store.execute("INSERT INTO alerts (alert_id, alert_key, rule, person_id, person_ids, severity, raised_at, explanation, "
                  "evidence, evidence_items, possible_links) VALUES ('A0000900', 'possible:x', 'repeat_victim', ?, "
                  "[?], 'low', now(), 'possible', '{}', [], '[]')", [PEOPLE[0], PEOPLE[0]])
    merge(store, PEOPLE[5], PEOPLE[4])


def asked(store, **kw):
    """(the kept queue's answer, list_alerts' answer) to the same question."""
    queue = kw.pop("queue")
    return queue.page(store, **kw), list_alerts(store, with_total=True, **kw)


def test_every_page_filter_and_lens_as_list_alerts(store):
    world(store)
    cfg = load_config()
    queue = AlertQueue.build(store)
    act_on_alert(store, list_alerts(store)[1]["alert_id"], "acknowledge", "ann", "seen")   # after the build
    totals = {}
    for lens in LENSES:
        for status in ("open", "new", "acknowledged", "closed", "all", None):
            for limit, offset in ((None, 0), (2, 0), (2, 2), (1, 5), (50, 100), (0, 1), (None, 3)):
                kept, sql = asked(store, queue=queue, status=status, limit=limit, offset=offset, lens=lens, config=cfg)
                assert kept == sql
                if status == "all":
                    totals[lens] = kept["total"]
        for filters in ({"rule": "marac_criteria"}, {"severity": "medium"}, {"possible": True}, {"possible": False},
                        {"person_id": PEOPLE[5]}, {"person_id": PEOPLE[0]}, marac_scope(store, lens or Lens()),
                        queue.marac_scope(store, lens or Lens())):
            kept, sql = asked(store, queue=queue, status="open", lens=lens, config=cfg, **filters)
            assert kept == sql
    assert totals[Lens.of()] > totals[Lens.of(health_clearance=False, export=True)] > 0   # the screen bites
    for lens in LENSES[1:]:
        assert queue.marac_scope(store, lens) == marac_scope(store, lens)
    # the words are read through each lens: the health-only name reaches only a cleared viewer
    cleared = asked(store, queue=queue, status="all", lens=Lens.of(), config=cfg, person_id=PEOPLE[3])[0]
    masked = asked(store, queue=queue, status="all", lens=Lens.of(health_clearance=False), config=cfg,
                   person_id=PEOPLE[3])[0]
    assert masked["total"] == cleared["total"] == 1
    assert cleared["items"][0]["subject"].startswith("Hidden B3")
    assert "Hidden" not in repr((masked["items"][0]["subject"], masked["items"][0]["evidence_words"]))


def test_an_action_shows_at_once_without_a_rebuild(store):
    world(store)
    queue = AlertQueue.build(store)
    queue.warm(store, Lens.of())
    first = queue.page(store, status="open", limit=1, lens=Lens.of())["items"][0]
    assert first["status"] == "new" and first["history"] == []
    act_on_alert(store, first["alert_id"], "acknowledge", "ann", "seen at the meeting")
    now = queue.page(store, status="acknowledged", lens=Lens.of())
    assert [a["alert_id"] for a in now["items"]] == [first["alert_id"]] and now["total"] == 1
    assert now["items"][0]["status"] == "acknowledged"
    assert [(h["by"], h["reason"]) for h in now["items"][0]["history"]] == [("ann", "seen at the meeting")]
    act_on_alert(store, first["alert_id"], "close", "ann", "safety plan agreed")
    assert first["alert_id"] not in {a["alert_id"] for a in queue.page(store, status="open", lens=Lens.of())["items"]}
    closed = queue.page(store, status="closed", lens=Lens.of())
    assert closed == list_alerts(store, status="closed", lens=Lens.of(), with_total=True)
    assert closed["items"][0]["status"] == "closed"


def test_refusals_are_list_alerts_own(store):
    world(store)
    queue = AlertQueue.build(store)
    for bad in ({"status": "shelved"}, {"rule": "nope"}, {"severity": "dire"}, {"limit": -1}, {"offset": -3},
                {"person_id": "MI-0000000"}):
        with pytest.raises(IntelError) as kept:
            queue.page(store, config=load_config(), **bad)
        with pytest.raises(IntelError) as sql:
            list_alerts(store, config=load_config(), **bad)
        assert str(kept.value) == str(sql.value)


def test_a_new_data_date_is_read_from_sql(store, monkeypatch):
    """The words carry ages on the date the data runs to: when that moves, the kept words are not
    used. The date is read once a calendar day (a commit rebuilds the queue: api/alert_cache.py),
    so a later record counts from the next day on."""
    world(store)
    queue = AlertQueue.build(store)
    assert queue.page(store, lens=Lens.of()) is not None
    add_mention(store, "police", "R99", "I99", "2026-01-01", "victim", "violence", PEOPLE[0],
                forename="a", surname="b0", dob="1990-01-01")
    assert queue.page(store, lens=Lens.of()) is not None        # the same day: the date as read
    tomorrow = datetime.now() + timedelta(days=1)
    monkeypatch.setattr(alert_queue, "_clock", lambda: tomorrow)
    assert queue.page(store, lens=Lens.of()) is None            # the next day: read again, moved
