"""The in-memory snapshot answers every chronology exactly as SQL does: every person (merged ids
too), every household, each viewer, on a generated world run through the real nightly pipeline,
with alerts in each state."""

from __future__ import annotations

from datetime import date

import pytest

from fixtures.world import generate_world
from findings.alerts import act_on_alert, list_alerts
from views.chronology import activity, chronology
from views.chronology_sources import SnapshotReader, StoreReader
from core.errors import IntelError, NotFound
from core.person_ids import MalformedPersonId, format_person_id
from findings.runs import run_nightly
from linkage.decisions import decide
from core.store import Store
from core.config import load_config

CONFIG = load_config()

TODAY = date(2026, 11, 23)
VIEWERS = [dict(health_clearance=True, export=False), dict(health_clearance=False, export=False),
           dict(health_clearance=True, export=True)]


@pytest.fixture(scope="module")
def world_store(tmp_path_factory):
    base = tmp_path_factory.mktemp("sources")
    generate_world(base / "w", households=150, seed=12, nightly_days=2)
    store = Store(base / "s.duckdb")
    run_nightly(store, base / "w" / "drop", config=CONFIG)
    for night in sorted((base / "w" / "nightly").iterdir()):
        run_nightly(store, night, config=CONFIG)
    if not store.rows("SELECT 1 FROM persons WHERE status = 'merged' LIMIT 1"):
        # the nights merged no persons on this world: a person's 'same' decision merges two
        a, b = [r["m"] for r in store.rows("SELECT min(mention_id) AS m FROM person_mentions GROUP BY person_id "
                                           "ORDER BY person_id LIMIT 2")]
        decide(store, a, b, "same", "a.analyst", "one person", config=CONFIG)
    alerts = list_alerts(store, limit=6)
    assert len(alerts) >= 4
    for a in alerts[:4]:
        act_on_alert(store, a["alert_id"], "acknowledge", "a.analyst", "seen")
    for a in alerts[:2]:
        act_on_alert(store, a["alert_id"], "close", "a.analyst", "dealt with")
    yield store
    store.close()


def test_every_chronology_is_the_same_from_the_snapshot(world_store):
    store = world_store
    snap = SnapshotReader.build(store)
    persons = [r["person_id"] for r in store.rows("SELECT person_id FROM persons ORDER BY person_id")]
    merged = [r["person_id"] for r in store.rows("SELECT person_id FROM persons WHERE status = 'merged'")]
    households = [r["household_key"] for r in store.rows(
        "SELECT DISTINCT household_key FROM mentions WHERE household_key IS NOT NULL ORDER BY 1")]
    assert len(persons) > 300 and households and merged
    with_alerts = 0
    for i, pid in enumerate(persons):
        viewer = VIEWERS[i % len(VIEWERS)]
        sql = chronology(store, person_id=pid, today=TODAY, config=CONFIG, **viewer)
        assert chronology(store, person_id=pid, today=TODAY, reader=snap, config=CONFIG, **viewer) == sql, pid
        with_alerts += bool(sql["person"]["open_alerts"])
    for i, key in enumerate(households):
        viewer = VIEWERS[i % len(VIEWERS)]
        try:
            sql = chronology(store, household_key=key, today=TODAY, config=CONFIG, **viewer)
        except NotFound:
            with pytest.raises(NotFound):
                chronology(store, household_key=key, today=TODAY, reader=snap, config=CONFIG, **viewer)
            continue
        assert chronology(store, household_key=key, today=TODAY, reader=snap, config=CONFIG, **viewer) == sql, key
    # the comparison covered what could differ: open alerts in headers, merged ids resolved
    assert with_alerts > 0
    for pid in merged:
        assert snap.resolve(pid) == StoreReader(store).resolve(pid)


def test_unknown_ids_and_a_newer_state(world_store):
    store = world_store
    snap = SnapshotReader.build(store)
    with pytest.raises(NotFound):
        chronology(store, person_id=format_person_id(99_999_999), reader=snap, config=CONFIG)
    for reader in (snap, None):   # text that is no person id: said so, by either reader, nothing looked up
        with pytest.raises(MalformedPersonId, match="not a person id"):
            chronology(store, person_id="no-such-person", reader=reader, config=CONFIG)
    with pytest.raises(NotFound):
        chronology(store, household_key="no-such-household", reader=snap, config=CONFIG)
    with pytest.raises(IntelError):
        chronology(store, reader=snap, config=CONFIG)
    # an alert acknowledged after the snapshot was taken: the old snapshot still shows it new (it
    # is one state, never patched); with_alerts_from shows the change, keeping the frames
    alert = next(a for a in list_alerts(store, status="open", limit=50) if a["person_id"] and a["status"] != "acknowledged")
    person = alert["person_id"]
    before = {a["alert_id"]: a["status"] for a in chronology(store, person_id=person, reader=snap, config=CONFIG)["person"]["open_alerts"]}
    assert before[alert["alert_id"]] in ("new", "baseline")
    act_on_alert(store, alert["alert_id"], "acknowledge", "a.analyst", "seen")
    stale = chronology(store, person_id=person, reader=snap, config=CONFIG)["person"]["open_alerts"]
    assert {a["alert_id"]: a["status"] for a in stale}[alert["alert_id"]] in ("new", "baseline")
    fresh = snap.with_alerts_from(store)
    sql = chronology(store, person_id=person, today=TODAY, config=CONFIG)
    assert chronology(store, person_id=person, today=TODAY, reader=fresh, config=CONFIG) == sql
    assert {a["alert_id"]: a["status"] for a in sql["person"]["open_alerts"]}[alert["alert_id"]] == "acknowledged"


def test_weakest_links_are_the_same_from_the_snapshot(world_store):
    """The search page's weakest link of each candidate (api/search_details.py): from memory as SQL
    gives it, for every person, merged ones (no records left) and unknown ids included."""
    store = world_store
    snap, sql = SnapshotReader.build(store), StoreReader(store)
    persons = [r["person_id"] for r in store.rows("SELECT person_id FROM persons ORDER BY person_id")]
    asked = persons + [persons[0], format_person_id(99_999_999)]
    want = sql.weakest_links(asked)
    assert snap.weakest_links(asked) == want
    assert len(want) > 300 and any(v is not None and v < 1 for v in want.values())
    for i in range(0, len(persons), 37):   # small batches, in another order, as a results page asks
        batch = persons[i:i + 20][::-1]
        assert snap.weakest_links(batch) == sql.weakest_links(batch)
    assert snap.weakest_links([]) == sql.weakest_links([]) == {}


def test_activity_is_the_chronology_headers_two_figures(world_store):
    """The search page's agencies and last event (views.chronology.activity) equal the chronology
    header's counts_by_agency and last_seen, for every current person, each viewer, either reader."""
    store = world_store
    snap, sql = SnapshotReader.build(store), StoreReader(store)
    persons = [r["person_id"] for r in store.rows("SELECT person_id FROM persons WHERE status <> 'merged' ORDER BY 1")]
    differs = 0
    for i, pid in enumerate(persons):
        for viewer in VIEWERS:
            head = chronology(store, person_id=pid, reader=snap, config=CONFIG, **viewer)["person"]
            want = (head["counts_by_agency"], head["last_seen"])
            assert activity(pid, reader=snap, **viewer) == want, (pid, viewer)
            if i % 5 == 0:
                assert activity(pid, reader=sql, **viewer) == want, (pid, viewer)
        differs += activity(pid, reader=snap) != activity(pid, reader=snap, health_clearance=False, export=True)
    assert differs   # the viewers saw different figures somewhere: the lens was exercised
