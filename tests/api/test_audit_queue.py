"""Group commit of audit entries: every entry stored, in one unbroken chain, concurrent entries
sharing commits; a failed commit fails every request waiting on it and loses no later one."""

from __future__ import annotations

import threading

import pytest

from api.audit_queue import AuditQueue
from access.audit import AuditWriter
from access.audit_verify import verify

ENTRY = dict(user_name="alice", role="analyst", method="GET", endpoint="/persons/{person_id}",
             path="/persons/P1", status=200, subject_kind="person", subject_id="MI-00000001B", purpose="strategy")


def twenty_clients(q: AuditQueue) -> list[dict]:
    """20 threads, 25 entries each, every one waiting for its entry as a request does."""
    results, lock = [], threading.Lock()

    def client(i: int) -> None:
        for j in range(25):
            entry = q.submit(**{**ENTRY, "path": f"/persons/P{i}-{j}"}).result(10)
            with lock:
                results.append(entry)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_concurrent_entries_share_commits_and_keep_the_chain(store):
    q = AuditQueue(store, AuditWriter(store))
    results = twenty_clients(q)
    q.close()
    assert len(results) == 500 and sorted(r["seq"] for r in results) == list(range(1, 501))
    assert verify(store) == {"ok": True, "entries": 500}
    assert q.entries == 500 and q.commits < 500   # batched: fewer commits than entries
    paths = {r["path"] for r in store.rows("SELECT path FROM audit_log")}
    assert len(paths) == 500


def test_a_failed_commit_fails_its_requests_and_the_next_ones_are_stored(store):
    writer = AuditWriter(store)
    q = AuditQueue(store, writer)
    q.submit(**ENTRY).result(10)
    real = writer.write_many
    writer.write_many = lambda *a, **k: (_ for _ in ()).throw(RuntimeError("disk full"))
    with pytest.raises(RuntimeError, match="disk full"):
        q.submit(**ENTRY).result(10)
    writer.write_many = real
    q.submit(**{**ENTRY, "status": 404}).result(10)
    q.close()
    assert verify(store) == {"ok": True, "entries": 2}
    assert [r["status"] for r in store.rows("SELECT status FROM audit_log ORDER BY seq")] == [200, 404]


# -- with a journal (the server's default) --------------------------------------------------------

def _journaled(store, **kw):
    from access.audit import AuditJournal, journal_path

    writer = AuditWriter(store)
    return AuditQueue(store, writer, journal=AuditJournal(journal_path(store.path)), **kw), journal_path(store.path)


def test_journaled_entries_are_durable_when_answered_and_reach_the_store_in_batches(store):
    q, path = _journaled(store, move_every_s=3600, move_at=10**6)   # nothing moves by itself
    results = twenty_clients(q)
    # answered: every entry is in the journal, none yet in the store
    assert len(path.read_bytes().splitlines()) == 500
    assert store.scalar("SELECT count(*) FROM audit_log") == 0
    q.sync()
    assert store.scalar("SELECT count(*) FROM audit_log") == 500 and path.read_bytes() == b""
    q.submit(**ENTRY).result(10)
    q.close()                                   # the rest moves at close
    assert verify(store) == {"ok": True, "entries": 501}
    assert sorted(r["seq"] for r in results) == list(range(1, 501)) and q.commits < 500


def test_entries_move_by_themselves_after_a_while(store):
    import time

    q, path = _journaled(store, move_every_s=0.05)
    q.submit(**ENTRY).result(10)
    deadline = time.monotonic() + 5
    while store.scalar("SELECT count(*) FROM audit_log") == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert store.scalar("SELECT count(*) FROM audit_log") == 1
    q.close()


def test_a_crash_loses_nothing_answered_the_next_start_moves_the_journal_in_first(store):
    from access.audit import AuditJournal, journal_path

    writer = AuditWriter(store)
    writer.write_many(store, [ENTRY])                            # one entry already in the store
    journal = AuditJournal(journal_path(store.path))            # then four answered, never moved
    writer.journal_many(journal, [{**ENTRY, "path": f"/p/{i}"} for i in range(3)])
    writer.journal_many(journal, [{**ENTRY, "path": "/p/3"}])
    journal.close()
    with journal_path(store.path).open("ab") as fh:              # the batch being written at the kill
        fh.write(b'{"seq":6,"logged_at":"2026-')
    assert store.scalar("SELECT count(*) FROM audit_log") == 1
    restarted = AuditWriter(store)                               # what create_app does first
    assert [r["path"] for r in store.rows("SELECT path FROM audit_log ORDER BY seq")] == \
        ["/persons/P1", "/p/0", "/p/1", "/p/2", "/p/3"]
    assert verify(store) == {"ok": True, "entries": 5} and journal_path(store.path).read_bytes() == b""
    assert restarted.write_many(store, [ENTRY])[0]["seq"] == 6 and verify(store)["ok"]


def test_a_journal_that_does_not_continue_the_log_stops_the_start_and_changes_nothing(store):
    from access.audit import AuditJournal, journal_path
    from core.errors import IntelError

    writer = AuditWriter(store)
    writer.write_many(store, [ENTRY])
    journal = AuditJournal(journal_path(store.path))
    writer.journal_many(journal, [{**ENTRY, "path": "/p/a"}, {**ENTRY, "path": "/p/b"}])
    journal.close()
    good = journal_path(store.path).read_bytes()
    lines = good.splitlines(keepends=True)
    for bad, why in ((lines[0].replace(b"/p/a", b"/p/x"), "is not an audit entry"),   # edited
                     (lines[1], "does not continue")):                                # a gap
        journal_path(store.path).write_bytes(bad if why == "does not continue" else bad + lines[1])
        with pytest.raises(IntelError, match=why):
            AuditWriter(store)
        assert store.scalar("SELECT count(*) FROM audit_log") == 1
    journal_path(store.path).write_bytes(good)
    AuditWriter(store)
    assert verify(store) == {"ok": True, "entries": 3}
    # a journal already moved in (a crash after the store's commit, before the journal was emptied)
    journal_path(store.path).write_bytes(good)
    AuditWriter(store)
    assert verify(store) == {"ok": True, "entries": 3}


def test_a_journal_that_cannot_be_emptied_never_moves_an_entry_twice(store):
    q, path = _journaled(store, move_every_s=3600, move_at=10**6)
    real = q._journal.clear
    q._journal.clear = lambda: (_ for _ in ()).throw(OSError("read-only file system"))
    q.submit(**ENTRY).result(10)
    with pytest.raises(OSError):
        q.sync()                                  # moved, but the journal still holds the entry
    q._journal.clear = real
    q.submit(**{**ENTRY, "status": 404}).result(10)
    q.sync()
    q.close()
    assert [r["status"] for r in store.rows("SELECT status FROM audit_log ORDER BY seq")] == [200, 404]
    assert verify(store) == {"ok": True, "entries": 2}
