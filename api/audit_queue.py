"""Group commit for the audit log: every request's entry is durable before its response starts,
and concurrent requests share one write.

One thread owns the writing: it takes every entry that arrived while it was busy and makes them
durable together, then releases the requests waiting on them. With a journal (the server's
default, :class:`access.audit.AuditJournal`) "durable" is one fsync'd append to the journal file
beside the store, and the entries move to ``audit_log`` in batches - at least every
``move_every_s`` or ``move_at`` entries, when asked (:meth:`AuditQueue.sync`) and at close. A
DuckDB commit costs ~1 ms however few rows it holds: committed per batch of ~3 requests it was
about a third of a chronology's server CPU. Without a journal each batch is one DuckDB commit.
Nothing is answered before its entry is durable: a request that cannot be recorded gets a 500
(api/security.py). A crash between the journal and the store loses nothing: the next start
moves the journal's entries in first (:func:`access.audit.recover_journal`).
"""

from __future__ import annotations

import queue
import sys
import threading
import time
import traceback
from concurrent.futures import Future
from typing import Any

from access.audit import AuditJournal, AuditWriter, store_entries
from core.store import Store

_STOP = object()
_SYNC = object()


class AuditQueue:
    def __init__(self, store: Store, writer: AuditWriter, max_batch: int = 256, *,
                 journal: AuditJournal | None = None, move_every_s: float = 0.5, move_at: int = 2000) -> None:
        """``journal``: the queue owns it from here (closes it once the last entries are moved)."""
        self._store = store
        self._writer = writer
        self._max_batch = max_batch
        self._journal = journal
        self._move_every_s = move_every_s
        self._move_at = move_at
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="audit-writer", daemon=True)
        self._thread.start()
        self.commits = 0
        self.entries = 0

    def submit(self, **fields: Any) -> Future:
        """Queue one entry; the future completes (with the stored entry) once it is durable."""
        done: Future = Future()
        self._queue.put((fields, done))
        return done

    def sync(self, timeout: float = 10.0) -> None:
        """Return once every entry submitted before this call is in ``audit_log``."""
        done: Future = Future()
        self._queue.put((_SYNC, done))
        done.result(timeout)

    def close(self, timeout: float = 10.0) -> None:
        self._queue.put(_STOP)
        self._thread.join(timeout)

    def _loop(self) -> None:
        session = self._store.session()
        journaled: list[dict[str, Any]] = []     # durable in the journal, not yet in the store
        moved_at = time.monotonic()

        def move() -> None:
            nonlocal journaled, moved_at
            moved_at = time.monotonic()
            if journaled:
                store_entries(session, journaled)
                journaled = []            # in the store: never moved twice, even if the clear fails
                self._journal.clear()     # (a journal left holding them is skipped by recover_journal)

        try:
            while True:
                wait = None if not journaled else max(0.0, moved_at + self._move_every_s - time.monotonic())
                try:
                    item = self._queue.get(timeout=wait)
                except queue.Empty:
                    item = None
                if item is _STOP:
                    return
                if item is not None and item[0] is _SYNC:
                    try:
                        move()
                        item[1].set_result(None)
                    except BaseException as exc:  # noqa: BLE001 - the caller learns it
                        item[1].set_exception(exc)
                    continue
                if item is not None:
                    self._write(session, item, journaled)
                if journaled and (len(journaled) >= self._move_at
                                  or time.monotonic() - moved_at >= self._move_every_s):
                    try:
                        move()
                    except BaseException:  # noqa: BLE001 - still durable in the journal; tried again later
                        traceback.print_exc(file=sys.stderr)
        finally:
            try:
                move()
            except BaseException:  # noqa: BLE001 - the next start moves them (recover_journal)
                traceback.print_exc(file=sys.stderr)
            session.close()
            self._writer.close()
            if self._journal is not None:
                self._journal.close()

    def _write(self, session: Store, first: Any, journaled: list[dict[str, Any]]) -> None:
        batch = [first]
        while len(batch) < self._max_batch:
            try:
                nxt = self._queue.get_nowait()
            except queue.Empty:
                break
            if nxt is _STOP or nxt[0] is _SYNC:
                self._queue.put(nxt)      # after this batch (a SimpleQueue puts it last: fine,
                break                     # everything before it is in this batch)
            batch.append(nxt)
        fields = [f for f, _ in batch]
        try:
            if self._journal is not None:
                stored = self._writer.journal_many(self._journal, fields)
                journaled.extend(stored)
            else:
                stored = self._writer.write_many(session, fields)
        except BaseException as exc:  # noqa: BLE001 - every waiting request answers 500
            traceback.print_exc(file=sys.stderr)
            for _, done in batch:
                done.set_exception(exc)
            return
        self.commits += 1
        self.entries += len(batch)
        for (_, done), entry in zip(batch, stored):
            done.set_result(entry)
