"""The serving snapshot: chronologies, search and network views answered from memory while it
matches the store.

At 1M mentions a chronology built with SQL costs ~18 ms of DuckDB point queries (each one a
filtered scan), which 20 concurrent clients on a small machine turn into half a second of
queueing; a search's SQL blocks cost ~30 ms, a network view's queries ~16 ms.
:class:`SnapshotKeeper` holds a :class:`ServingSnapshot` (an
:class:`views.chronology_sources.SnapshotReader`, an :class:`views.search_memory.MemorySearchIndex`
and an :class:`views.network_view.NetworkSnapshot`) of the last committed state and says whether
it is still that state.

Why it is never stale: only this process can write the store (DuckDB: one writing process),
and every write the server makes that a chronology can see calls :meth:`invalidate` right after
it commits - a nightly run's commit and its queued decisions (api/runs.py), a link decision,
an alert acknowledged or closed (api/app.py). From that moment :meth:`current` answers None and
requests use SQL (the same answers, slower) until the rebuild, in a background thread and in
one read transaction, has caught up. A request that began before the commit may finish on the
older snapshot: the state it began in, never a mix. A run in progress is not committed, so the
snapshot keeps showing the state before it (as SQL does).

``[api] snapshot = false`` turns it off (every request then uses SQL; the memory it needs - the
server holds 2.4 GiB with it at 1.1M mentions, 0.7 GiB without - is the reason a hub might).
"""

from __future__ import annotations

import gc
import sys
import threading
import traceback
from dataclasses import dataclass
from typing import Any

from views.chronology_sources import SnapshotReader
from views.network_memory import NetworkSnapshot
from views.search_memory import MemorySearchIndex
from api.rebuilder import RebuiltKeeper, Rebuilder
from core.store import Store


@dataclass(frozen=True)
class ServingSnapshot:
    """One committed state: what chronologies read, search's candidate blocks, and the analytics
    snapshot network views read."""
    chronology: SnapshotReader
    search: MemorySearchIndex
    network: NetworkSnapshot

    @classmethod
    def build(cls, store: Store) -> ServingSnapshot:
        with store.transaction():   # all from one state
            return cls(SnapshotReader.build(store), MemorySearchIndex.build(store), NetworkSnapshot.build(store))

    def with_alerts_from(self, store: Store) -> ServingSnapshot:
        return ServingSnapshot(self.chronology.with_alerts_from(store), self.search, self.network)


def _out_of_the_collectors_way() -> None:
    """Move what is alive now (the snapshot's millions of small objects among it) out of the
    cyclic garbage collector's reach. Otherwise every full collection walks all of them and
    stalls every request for that long (p99 latency). They are freed by reference counting when
    a newer snapshot replaces them all the same; what was frozen before is unfrozen and
    collected first, so cyclic garbage frozen with an older snapshot is not kept for good."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


class SnapshotKeeper(RebuiltKeeper):
    def __init__(self, store: Store, enabled: bool = True) -> None:
        self.store = store
        self.enabled = enabled
        self._lock = threading.Lock()
        self._version = 0                        # bumped by every write a chronology can see
        self._snapshot: ServingSnapshot | None = None
        self._snapshot_version = -1              # the version _snapshot is wholly current for
        self._full_pending = True                # a change beyond alerts awaits a rebuild
        self._rebuild = Rebuilder(store, self._lock, "serving-snapshot", plan=self._plan, build=self._build,
                                  publish=self._publish, failed=self._failed, after=self._after)

    # -- reading ------------------------------------------------------------------------------
    def current(self) -> ServingSnapshot | None:
        """The snapshot if it holds the last committed state, else None (use SQL)."""
        with self._lock:
            return self._snapshot if self._snapshot_version == self._version else None

    def status(self) -> dict[str, Any]:
        with self._lock:
            current = self._snapshot is not None and self._snapshot_version == self._version
        state = "off" if not self.enabled else ("current" if current else "building")
        return {"state": state, "builds": self.builds, "last_build_s": self.last_build_s}

    # -- writing --------------------------------------------------------------------------------
    def build_now(self) -> None:
        """Build synchronously (server start)."""
        if self.enabled:
            self._rebuild.run_here()

    def invalidate(self, *, alerts_only: bool = False) -> None:
        """A write the snapshot cannot see has committed: stop serving it, rebuild in the background.
        ``alerts_only``: only alerts changed (acknowledged, closed), so only they are reloaded."""
        if not self.enabled:
            return
        with self._lock:
            self._version += 1
            if not alerts_only:
                self._full_pending = True
                self._snapshot = None            # free its memory now: it will not be served again
            self._rebuild.start()

    def wait(self, timeout: float | None = None) -> None:
        """Wait for a rebuild in progress (tests, shutdown)."""
        self._rebuild.wait(timeout)

    # -- one rebuild's round (api/rebuilder.py) ---------------------------------------------------
    def _plan(self) -> tuple[int, ServingSnapshot | None]:
        base = None if self._full_pending else self._snapshot   # alerts only: reload them onto it
        self._full_pending = False
        return self._version, base

    @staticmethod
    def _build(session: Store, base: ServingSnapshot | None) -> ServingSnapshot:
        return base.with_alerts_from(session) if base is not None else ServingSnapshot.build(session)

    def _publish(self, snapshot: ServingSnapshot, version: int) -> bool:
        if self._full_pending:
            return False                         # something beyond alerts changed meanwhile: again
        self._snapshot = snapshot                # its frames are current; its alerts maybe not
        if version != self._version:
            return False                         # alerts changed meanwhile: reload them onto it
        self._snapshot_version = version
        return True

    def _failed(self, exc: BaseException) -> None:   # requests keep using SQL; say why on stderr
        traceback.print_exception(exc, file=sys.stderr)
        self._full_pending = True

    @staticmethod
    def _after(_snapshot: ServingSnapshot, _version: int) -> None:
        _out_of_the_collectors_way()             # outside the lock: requests keep reading
