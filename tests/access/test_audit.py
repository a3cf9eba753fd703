"""The audit log: append-only with a hash chain, filtered listing, and the s.62 combination log."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime

from access.audit import AuditWriter, list_audit, record
from access.audit_verify import verify


def _write(store, writer, **kw):
    base = dict(user_name="alice", role="analyst", method="GET", endpoint="/persons/{person_id}",
                path="/persons/P1", status=200, subject_kind="person", subject_id="MI-00000001B", purpose="strategy")
    base.update(kw)
    return writer.write(store, **base)


def test_chain_verifies_and_any_change_or_removal_breaks_it(store):
    w = AuditWriter(store)
    for i in range(3):
        _write(store, w, path=f"/p/{i}")
    assert verify(store) == {"ok": True, "entries": 3}
    # a new writer (a restarted server) carries the chain on
    _write(store, AuditWriter(store))
    assert verify(store)["ok"] and verify(store)["entries"] == 4
    store.execute("UPDATE audit_log SET purpose = 'nothing to see' WHERE seq = 2")
    out = verify(store)
    assert (out["ok"], out["entries"], out["broken_at"]) == (False, 3, 2) and "entry 2 was changed" in out["why"]
    store.execute("DELETE FROM audit_log WHERE seq = 2")
    out = verify(store)
    assert out["broken_at"] == 2 and [p["kind"] for p in out["problems"]] == ["deleted_entries"]


def test_batches_of_any_size_store_every_field_and_keep_the_chain(store):
    """write_many binds small batches as parameters and larger ones as one Arrow scan: both
    store the same values (nulls, details, the microsecond timestamp) and the chain verifies."""
    w = AuditWriter(store)
    sent = []
    for size in (1, 3, 4, 30):
        entries = [dict(user_name=None if i % 5 == 0 else f"user{i}", role="analyst", method="GET",
                        endpoint="/persons/{person_id}", path=f"/persons/P{i}?x='y'", status=200 + i,
                        subject_kind=None if i % 3 else "person", subject_id=f"P{i}", purpose="strategy ü",
                        detail={"n": i, "ids": ["a", "b"]} if i % 2 else None) for i in range(size)]
        stored = w.write_many(store, entries)
        assert [e["seq"] for e in stored] == list(range(len(sent) + 1, len(sent) + size + 1))
        sent += stored
    assert verify(store) == {"ok": True, "entries": 38}
    rows = store.rows("SELECT * FROM audit_log ORDER BY seq")
    assert rows == sent


def test_listing_filters_by_person_user_and_time_and_shows_combinations(store):
    w = AuditWriter(store)
    _write(store, w, subject_id="MI-00000001B")
    _write(store, w, subject_id="MI-00000002C", user_name="bob")
    _write(store, w, subject_kind="alert", subject_id="A0000001")
    now = datetime(2026, 1, 1)
    store.execute("INSERT INTO persons VALUES ('MI-00000001B', 'active', NULL, ?, 'r1'), "
                  "('MI-00000002C', 'merged', 'MI-00000001B', ?, 'r1')", [now, now])
    store.execute("INSERT INTO person_history VALUES (1, ?, 'create', 'MI-00000002C', NULL, ['police:1'], 'run-1', NULL, 'link run'), "
                  "(2, ?, 'merge', 'MI-00000002C', 'MI-00000001B', ['police:1'], NULL, 'carol', 'decision 1 (same): NHS number')",
                  [now, now])
    out = list_audit(store, person="MI-00000002C")
    assert set(out["person_ids"]) == {"MI-00000001B", "MI-00000002C"}
    assert [e["subject_id"] for e in out["entries"]] == ["MI-00000001B", "MI-00000002C"]
    assert [(h["action"], h["run_id"], h["decided_by"]) for h in out["combination_log"]] == [
        ("create", "run-1", None), ("merge", None, "carol")]
    assert list_audit(store, user="bob")["count"] == 1
    assert list_audit(store, since="2999-01-01")["count"] == 0
    assert list_audit(store)["count"] == 3


def test_cli_audit_lists_and_verifies(tmp_path):
    from core.store import Store

    db = tmp_path / "a.duckdb"
    with Store(db) as s:
        record(s, user_name="alice", role="analyst", method="GET", endpoint="/alerts", path="/alerts", status=200,
               subject_kind="alert", purpose="triage")
    out = subprocess.run([sys.executable, "-m", "intel.cli", "audit", "--user", "alice", "--verify", "--db", str(db)],
                         capture_output=True, text=True, check=True).stdout
    body = json.loads(out)
    assert body["count"] == 1 and body["chain"]["ok"] and body["entries"][0]["purpose"] == "triage"
    bad = subprocess.run([sys.executable, "-m", "intel.cli", "audit", "--since", "yesterday", "--db", str(db)],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "--since" in bad.stderr


def test_a_batch_the_store_refuses_leaves_nothing_behind_and_the_chain_unmoved(store):
    """A failed append is all-or-none, and its rows are not applied by the next batch's flush
    (the appender is cleared); the writer's sequence and chain stay where they were."""
    import pytest

    w = AuditWriter(store)
    _write(store, w, path="/before")
    good = dict(user_name="alice", role="analyst", method="GET", endpoint="/x", path="/x", status=200)
    with pytest.raises(Exception):
        w.write_many(store, [good, dict(good, method=None)])     # method is NOT NULL
    assert verify(store) == {"ok": True, "entries": 1}
    w.write_many(store, [dict(good, path="/after")] * 4)
    assert [r["path"] for r in store.rows("SELECT path FROM audit_log ORDER BY seq")] == ["/before"] + ["/after"] * 4
    assert verify(store) == {"ok": True, "entries": 5}


def test_cli_audit_lists_what_a_stopped_server_left_in_its_journal(tmp_path):
    """A server killed before moving its last entries leaves them journaled: `intel audit` moves
    them in and lists them (they are part of the log); a journal that does not continue the log
    is refused with a clear error and exit 2."""
    from access.audit import AuditJournal, journal_path
    from core.store import Store

    db = tmp_path / "a.duckdb"
    with Store(db) as s:
        w = AuditWriter(s)
        journal = AuditJournal(journal_path(db))
        w.journal_many(journal, [dict(user_name="bob", role="analyst", method="GET", endpoint="/alerts",
                                      path="/alerts", status=200, purpose="triage")])
        journal.close()
    run = lambda: subprocess.run([sys.executable, "-m", "intel.cli", "audit", "--verify", "--db", str(db)],  # noqa: E731
                                 capture_output=True, text=True)
    done = run()
    body = json.loads(done.stdout)
    assert body["count"] == 1 and body["entries"][0]["user_name"] == "bob" and body["chain"]["ok"]
    assert journal_path(db).read_bytes() == b""
    journal_path(db).write_bytes(b'{"seq": 7, "not": "an entry"}\n')
    refused = run()       # --verify: reported as what is wrong with the log, exit 1
    assert refused.returncode == 1 and "is not an audit entry" in refused.stderr
    assert json.loads(refused.stdout)["chain"]["problems"][0]["kind"] == "journal"
    listed = subprocess.run([sys.executable, "-m", "intel.cli", "audit", "--db", str(db)], capture_output=True, text=True)
    assert listed.returncode == 2 and "is not an audit entry" in listed.stderr
