"""Group commit of audit entries: every entry stored, in one unbroken chain, concurrent entries
sharing commits; a failed commit fails every request waiting on it and loses no later one."""

from __future__ import annotations

import threading

import pytest

from api.audit_queue import AuditQueue
from intel.audit import AuditWriter, verify

ENTRY = dict(user_name="alice", role="analyst", method="GET", endpoint="/persons/{person_id}",
             path="/persons/P1", status=200, subject_kind="person", subject_id="P00000001", purpose="strategy")


def test_concurrent_entries_share_commits_and_keep_the_chain(store):
    q = AuditQueue(store, AuditWriter(store))
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
