"""The clerical-review queue kept ranked in memory, once per store state.

Ranking the queue (findings.review.rank_queue) needs the possible findings: every rule run once
more over the whole population with the review links taken as true. At 1.1M mentions that is
~30 s, and GET /links/review paid it on every request. :class:`ReviewQueueCache` ranks once per
committed state and serves pages from memory; a page's key mentions are read once (one query
for the page) and kept with it.

Why it is never stale: as with the serving snapshot (api/snapshot.py), only this process writes
the store, and every write that can change the queue - a nightly run's commit and its queued
decisions, a link decision (api/runs.py calls ``on_change``) - calls :meth:`invalidate` right
after it commits. From that moment the kept ranking is not served as it is: after a link
decision (:meth:`decided`) it is patched at once (findings/review_patch.py: the decided pair and
the items the decision settles are gone, the items of the persons it reclustered re-keyed and
marked ``updating``) and the patched queue is served, flagged ``refreshing``, while the rebuild
runs; after any other commit (a run) a request waits for the rebuild. The rebuild starts at once
in the background (one at a time; requests arriving meanwhile share it). A rebuild reads one
state (one transaction) and is published only if nothing was committed while it ran; otherwise
it goes again. A rebuild that fails hands its error to the requests waiting (the same error the
uncached route would give) and the next request tries again.
"""

from __future__ import annotations

import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any

from api.rebuilder import RebuiltKeeper, Rebuilder
from core.store import Store
from findings.review import RankedQueue, page_items, rank_queue
from findings.review_patch import after_decision


class ReviewQueueCache(RebuiltKeeper):
    def __init__(self, store: Store, config: dict[str, Any],
                 rank: Callable[[Store, dict[str, Any]], RankedQueue] = rank_queue) -> None:
        self.store, self.config, self._rank = store, config, rank
        self._cond = threading.Condition()
        self._version = 0                      # bumped by every commit that can change the queue
        self._ranked: RankedQueue | None = None
        self._ranked_version = -1
        self._patched: RankedQueue | None = None   # the kept ranking patched by the decisions since
        self._patched_version = -1
        self._pages: dict[str, dict[str, Any]] = {}   # item_id -> the item with its key mentions
        self._failed: BaseException | None = None
        self._rebuild = Rebuilder(store, self._cond, "review-queue", plan=self._plan, build=self._build,
                                  publish=self._publish, failed=self._build_failed)

    # -- reading ----------------------------------------------------------------------------
    def page(self, store: Store, offset: int, limit: int,
             everything: bool = False) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """(the queue's summary, its items ``offset .. offset + limit`` with their key mentions),
        of the last committed state; ``everything``: of the whole band, not only the items at
        stake. After a decision, the patched queue with ``refreshing`` true until the rebuild
        lands; otherwise it waits for a rebuild in progress."""
        with self._cond:
            ranked, version, refreshing = self._current()
            known = {it["item_id"]: self._pages[it["item_id"]]
                     for it in ranked.scoped(everything)[offset: offset + limit] if it["item_id"] in self._pages}
        # reads only what is not known
        items = page_items(store, ranked, offset, limit, known=known, everything=everything)
        for n, it in enumerate(items, offset + 1):   # by position: a patched queue keeps its items' old ranks
            it["rank"] = n
        with self._cond:
            # kept for the next request only while the queue they were cut from is served: the
            # ranking that replaces a patched queue has the same version, and a page of the
            # patched one (items marked updating, harm of before the decision) is not of it
            if version == self._version and self._served() is ranked:
                self._pages.update(known)
        return {**ranked.summary(everything), "refreshing": refreshing}, items

    def _current(self) -> tuple[RankedQueue, int, bool]:   # the caller holds the condition's lock
        waited = False
        while self._ranked is None or self._ranked_version != self._version:
            if self._patched is not None and self._patched_version == self._version:
                return self._patched, self._version, True
            if waited and self._failed is not None:
                raise self._failed                # the build this request waited for failed
            self._failed = None                   # a new request tries again
            self._rebuild.start()
            self._cond.wait()
            waited = True
        return self._ranked, self._ranked_version, False

    def _served(self) -> RankedQueue | None:   # the caller holds the condition's lock
        if self._ranked is not None and self._ranked_version == self._version:
            return self._ranked
        if self._patched is not None and self._patched_version == self._version:
            return self._patched
        return None

    def status(self) -> dict[str, Any]:
        with self._cond:
            current = self._ranked is not None and self._ranked_version == self._version
            patched = self._patched is not None and self._patched_version == self._version
            building = self._rebuild.running
        state = ("current" if current else "patched, rebuilding" if patched else "building" if building
                 else "not ranked yet")
        return {"state": state, "builds": self.builds, "last_build_s": self.last_build_s}

    # -- writing ------------------------------------------------------------------------------
    def invalidate(self) -> None:
        """A write that can change the queue has committed: stop serving the kept ranking and
        rebuild it in the background."""
        with self._cond:
            self._version += 1
            self._ranked, self._pages = None, {}    # never served again: free it now
            self._patched = None
            self._rebuild.start()

    def decided(self, store: Store, result: dict[str, Any]) -> None:
        """A link decision (linkage.decisions.decide's ``result``) has committed: serve the kept
        queue patched by it at once (flagged refreshing) and rebuild it in the background. Without
        a kept queue of the state just before (none ranked yet, or a run's commit since), as
        :meth:`invalidate`. ``store``: a session that sees the decision."""
        with self._cond:
            if self._ranked is not None and self._ranked_version == self._version:
                base = self._ranked
            elif self._patched is not None and self._patched_version == self._version:
                base = self._patched
            else:
                base = None
            if base is not None:
                try:
                    patched, changed = after_decision(store, base, result)
                except Exception:  # noqa: BLE001 - the patch is a shortcut: without it, wait for the rebuild
                    traceback.print_exc(file=sys.stderr)
                    base = None
            self._version += 1
            self._ranked = None
            if base is None:
                self._patched, self._pages = None, {}
            else:
                self._patched, self._patched_version = patched, self._version
                self._pages = {i: p for i, p in self._pages.items() if i not in changed}
            self._rebuild.start()

    def build_later(self) -> None:
        """Rank in the background now (server start), so the first request finds it ready."""
        with self._cond:
            self._rebuild.start()

    def wait(self, timeout: float | None = None) -> None:
        """Wait for a rebuild in progress (tests, shutdown)."""
        self._rebuild.wait(timeout)

    # -- one rebuild's round (api/rebuilder.py) ---------------------------------------------------
    def _plan(self) -> tuple[int, None]:
        return self._version, None

    def _build(self, session: Store, _what: None) -> RankedQueue:
        with session.transaction():     # one state
            return self._rank(session, self.config)

    def _publish(self, ranked: RankedQueue, version: int) -> bool:
        if version != self._version:
            return False                          # a commit landed meanwhile: again
        self._ranked, self._ranked_version, self._pages = ranked, version, {}
        self._patched = None
        self._failed = None
        self._cond.notify_all()
        return True

    def _build_failed(self, exc: BaseException) -> None:   # handed to the requests waiting for it
        self._failed = exc
        self._cond.notify_all()
