"""Group commit for the audit log: every request's entry is committed before its response
starts, and concurrent requests share one commit.

A commit of one audit row costs DuckDB ~1 ms, and the chain (each entry holds the hash of the
one before) makes the writes one at a time: under 20 concurrent clients that lock was a quarter
of the server's time. Here one thread owns the writing: it takes every entry that arrived
while it was busy and writes them in one INSERT (:meth:`intel.audit.AuditWriter.write_many`),
then releases the requests waiting on them. Nothing is answered before its entry is stored:
a request that cannot be recorded gets a 500 instead (api/security.py).
"""

from __future__ import annotations

import queue
import sys
import threading
import traceback
from concurrent.futures import Future
from typing import Any

from intel.audit import AuditWriter
from intel.store import Store

_STOP = object()


class AuditQueue:
    def __init__(self, store: Store, writer: AuditWriter, max_batch: int = 256) -> None:
        self._store = store
        self._writer = writer
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="audit-writer", daemon=True)
        self._thread.start()
        self.commits = 0
        self.entries = 0

    def submit(self, **fields: Any) -> Future:
        """Queue one entry; the future completes (with the stored entry) once it is committed."""
        done: Future = Future()
        self._queue.put((fields, done))
        return done

    def close(self, timeout: float = 10.0) -> None:
        self._queue.put(_STOP)
        self._thread.join(timeout)

    def _loop(self) -> None:
        session = self._store.session()
        try:
            while True:
                item = self._queue.get()
                if item is _STOP:
                    return
                batch = [item]
                while len(batch) < self._max_batch:
                    try:
                        nxt = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if nxt is _STOP:
                        self._queue.put(_STOP)
                        break
                    batch.append(nxt)
                try:
                    stored = self._writer.write_many(session, [fields for fields, _ in batch])
                except BaseException as exc:  # noqa: BLE001 - every waiting request answers 500
                    traceback.print_exc(file=sys.stderr)
                    for _, done in batch:
                        done.set_exception(exc)
                    continue
                self.commits += 1
                self.entries += len(batch)
                for (_, done), entry in zip(batch, stored):
                    done.set_result(entry)
        finally:
            session.close()
