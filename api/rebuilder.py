"""One background rebuild of something the server keeps in memory, run until what it built matches
the store's last commit: the serving snapshot (api/snapshot.py), the alert queue
(api/alert_cache.py) and the review queue (api/review_cache.py) each keep one.

The keeper owns its lock, its version (bumped under that lock by every commit that can change what
it keeps) and what it serves; it says, through four functions, what one round reads, builds and
publishes. This class owns the thread and the loop they share:

1. under the keeper's lock, ``plan()`` gives the version the round is for (read *before* the
   build's transaction begins, so a commit racing it bumps the version and is never missed) and
   what the build needs, or None to stop;
2. outside the lock, ``build(session, what)`` reads one state in a session of its own;
3. under the lock, ``publish(built, version)`` serves it and says True, or says False when a
   commit landed meanwhile: then the loop goes again;
4. after publishing, ``after(built, version)`` runs outside the lock (work that must not hold up
   requests: freezing the snapshot out of the garbage collector's way, reading words ahead).

A failed build calls ``failed(exc)`` under the lock and ends the thread; the keeper decides what
then (requests fall back to SQL, or receive the error).

Why a flag set and cleared under the keeper's lock, not ``Thread.is_alive()``: a thread that has
just published is still alive for a moment (running ``after``), and a commit landing then must
start a new round, not trust that thread to see it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from core.store import Store


class Rebuilder:
    def __init__(self, store: Store, lock: AbstractContextManager[Any], name: str, *,
                 plan: Callable[[], tuple[int, Any] | None],
                 build: Callable[[Store, Any], Any],
                 publish: Callable[[Any, int], bool],
                 failed: Callable[[BaseException], None],
                 after: Callable[[Any, int], None] | None = None) -> None:
        self._store, self._lock, self._name = store, lock, name
        self._plan, self._build, self._publish, self._failed, self._after = plan, build, publish, failed, after
        self._thread: threading.Thread | None = None
        self._running = False               # a round is under way and will look at the version again
        self.builds = 0
        self.last_build_s: float | None = None

    @property
    def running(self) -> bool:
        """Whether a rebuild is under way (read it under the keeper's lock)."""
        return self._running

    def start(self) -> None:
        """Rebuild in the background unless a rebuild is under way (which will see the new version
        and go again). The caller holds the keeper's lock."""
        if not self._running:
            self._running = True
            self._thread = threading.Thread(target=self._rounds, name=self._name, daemon=True)
            self._thread.start()

    def run_here(self) -> None:
        """Rebuild in the calling thread until current (server start); waits for one under way."""
        with self._lock:
            busy = self._running
            self._running = True
        if busy:
            self.wait()
        else:
            self._rounds()

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the background rebuild under way, if any (tests, shutdown)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _rounds(self) -> None:
        while True:
            with self._lock:
                planned = self._plan()
                if planned is None:
                    self._running = False
                    return
            version, what = planned
            try:
                session = self._store.session()
                try:
                    t = time.perf_counter()
                    built = self._build(session, what)
                    elapsed = time.perf_counter() - t
                finally:
                    session.close()
            except BaseException as exc:  # noqa: BLE001 - the keeper decides: SQL, or the error to its waiters
                with self._lock:
                    self._running = False
                    self._failed(exc)
                return
            with self._lock:
                self.builds += 1
                self.last_build_s = round(elapsed, 2)
                if not self._publish(built, version):
                    continue                  # a commit landed meanwhile: again
                self._running = False
            if self._after is not None:
                self._after(built, version)
            return


class RebuiltKeeper:
    """What a keeper shows of its rebuild: how many rounds built, and how long the last took
    (``intel serve``'s status, benchmarks)."""
    _rebuild: Rebuilder

    @property
    def builds(self) -> int:
        return self._rebuild.builds

    @property
    def last_build_s(self) -> float | None:
        return self._rebuild.last_build_s
