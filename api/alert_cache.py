"""The alert queue kept in memory (findings.alert_queue.AlertQueue), once per store state.

GET /alerts (and the workspace's alerts page over it) read the whole queue from SQL on every
request: ~1 s for the first 50 of 21,855 alerts at 1.1M mentions in the open lens, ~4 s in a
restricted one. :class:`AlertQueueKeeper` reads the queue once per committed state, in the
background, and serves pages from memory; then it reads the words of every alert for the open
lens ahead of time (``warm``), and those of another lens once a request has used it.

Why it is never stale: as with the serving snapshot (api/snapshot.py), only this process writes
the store, and every commit that can change the alerts, their people or their records - a nightly
run's commit and its queued decisions, a link decision (api/app.py) - calls :meth:`invalidate`
right after it commits. From that moment :meth:`current` answers None and requests read from SQL
(the same answers, slower) until the rebuild, in one read transaction, has caught up. An alert
acknowledged or closed needs no rebuild: statuses and histories are read per request
(findings/alert_queue.py). ``[api] snapshot = false`` turns this off with the snapshot (both are
memory: ~25 MB for the alerts as read plus ~25 MB of words per lens at 21,855 alerts).
"""

from __future__ import annotations

import sys
import threading
import traceback
from typing import Any

from access.lens import Lens
from api.rebuilder import RebuiltKeeper, Rebuilder
from core.store import Store
from findings.alert_queue import AlertQueue

WARM_BATCH = 5000   # alerts whose words are read in one go (each batch scans the mentions four times)


class AlertQueueKeeper(RebuiltKeeper):
    def __init__(self, store: Store, enabled: bool = True) -> None:
        self.store, self.enabled = store, enabled
        self._lock = threading.Lock()
        self._version = 0
        self._queue: AlertQueue | None = None
        self._queue_version = -1
        self._warmed: set[Lens] = set()           # lenses whose words were read ahead (or are being read)
        self._warming = 0                         # background readers of words running
        self._warmers: list[threading.Thread] = []
        self._started = False                    # build_later called: until then, and after stop, SQL
        self._rebuild = Rebuilder(store, self._lock, "alert-queue", plan=self._plan, build=self._build,
                                  publish=self._publish, failed=self._failed, after=self._after)

    # -- reading ------------------------------------------------------------------------------
    def current(self, lens: Lens | None = None) -> AlertQueue | None:
        """The queue if it holds the last committed state, else None (read from SQL). ``lens``:
        the viewer's; its words are read ahead in the background from now on."""
        with self._lock:
            queue = self._queue if self._queue_version == self._version else None
            version = self._version
        if queue is not None and lens is not None:
            self._warm(queue, version, lens)
        return queue

    def status(self) -> dict[str, Any]:
        with self._lock:
            current = self._queue is not None and self._queue_version == self._version
            queue = self._queue
            warming = self._warming > 0
        state = ("off" if not self.enabled else "current" if current else "building" if self._started
                 else "not started")
        return {"state": state, "builds": self.builds, "last_build_s": self.last_build_s,
                "words": queue.kept_words() if current and queue is not None else {}, "warming": warming}

    # -- writing --------------------------------------------------------------------------------
    def build_later(self) -> None:
        """Start keeping the queue: build it in the background now (intel serve, at start), the
        open lens's words after it, and again after every commit. Until this is called (an app
        embedded without it, most tests) every request reads from SQL."""
        if self.enabled:
            with self._lock:
                self._started = True
                self._rebuild.start()

    def invalidate(self) -> None:
        """A commit that can change the alerts has landed: stop serving the queue, rebuild it."""
        with self._lock:
            self._version += 1
            self._queue = None                    # never served again: free it now
            if self._started:
                self._rebuild.start()

    def stop(self) -> None:
        """Serve no more and end the background reading (shutdown: before the store is closed)."""
        with self._lock:
            self._started = False
            self._version += 1
            self._queue = None
        self.wait()

    def wait(self, timeout: float | None = None) -> None:
        """Wait for a rebuild and the reading ahead of words in progress (tests, shutdown)."""
        self._rebuild.wait(timeout)
        for thread in list(self._warmers):
            thread.join(timeout)

    # -- one rebuild's round (api/rebuilder.py) ---------------------------------------------------
    def _plan(self) -> tuple[int, None] | None:
        return (self._version, None) if self._started else None   # stopped: no more rounds

    @staticmethod
    def _build(session: Store, _what: None) -> AlertQueue:
        with session.transaction():               # one state
            return AlertQueue.build(session)

    def _publish(self, queue: AlertQueue, version: int) -> bool:
        if version != self._version:
            return False                          # a commit landed meanwhile: again
        self._queue, self._queue_version = queue, version
        self._warmed = set()
        return True

    @staticmethod
    def _failed(exc: BaseException) -> None:      # requests keep reading from SQL; say why on stderr
        traceback.print_exception(exc, file=sys.stderr)

    def _after(self, queue: AlertQueue, version: int) -> None:
        self._warm(queue, version, Lens.of())     # the open lens's words, ahead of its first request

    def _warm(self, queue: AlertQueue, version: int, lens: Lens) -> None:
        """Read ``lens``'s words of ``queue`` in the background, once (given up when a commit lands)."""
        with self._lock:
            if lens in self._warmed or version != self._version:
                return
            self._warmed.add(lens)
            self._warming += 1
            thread = threading.Thread(target=self._warm_words, args=(queue, version, lens),
                                      name="alert-words", daemon=True)
            self._warmers = [t for t in self._warmers if t.is_alive()] + [thread]
        thread.start()

    def _warm_words(self, queue: AlertQueue, version: int, lens: Lens) -> None:
        session = self.store.session()
        try:
            # a commit ends it between batches (a batch read across a commit fills a queue no longer served)
            queue.warm(session, lens, WARM_BATCH, stop=lambda: version != self._version)
        except Exception:  # noqa: BLE001 - a page then reads its own words; say why on stderr
            traceback.print_exc(file=sys.stderr)
        finally:
            session.close()
            with self._lock:
                self._warming -= 1
