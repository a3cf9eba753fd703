"""api/rebuilder.py: the background rebuild the three kept things share, driven by a keeper of
test doubles (a store whose sessions only count, builds that wait on events)."""

from __future__ import annotations

import threading

from api.rebuilder import Rebuilder


class _Session:
    def __init__(self, store: _Store) -> None:
        self.store = store

    def close(self) -> None:
        self.store.closed += 1


class _Store:
    def __init__(self) -> None:
        self.opened = self.closed = 0

    def session(self) -> _Session:
        self.opened += 1
        return _Session(self)


class _Keeper:
    """Keeps the version it was built for; its build can be held inside, and so can ``after``."""

    def __init__(self, fail: bool = False) -> None:
        self.lock = threading.Lock()
        self.version = 0
        self.served: int | None = None
        self.built: list[int] = []
        self.failures: list[BaseException] = []
        self.fail = fail
        self.stopped = False
        self.hold_build = threading.Event(); self.hold_build.set()
        self.in_build = threading.Event()
        self.hold_after = threading.Event(); self.hold_after.set()
        self.in_after = threading.Event()
        self.store = _Store()
        self.rebuild = Rebuilder(self.store, self.lock, "test", plan=self.plan, build=self.build,
                                 publish=self.publish, failed=self.failures.append, after=self.after)

    def plan(self):
        return None if self.stopped else (self.version, None)

    def build(self, _session, _what):
        self.in_build.set()
        self.hold_build.wait(5)
        if self.fail:
            raise RuntimeError("the store went away")
        with self.lock:
            return self.version

    def publish(self, built, version):
        self.built.append(built)
        if version != self.version:
            return False
        self.served = version
        return True

    def after(self, _built, _version):
        self.in_after.set()
        self.hold_after.wait(5)

    def commit(self):
        with self.lock:
            self.version += 1
            self.rebuild.start()


def test_builds_and_publishes_the_current_version():
    k = _Keeper()
    k.commit()
    k.rebuild.wait(5)
    assert k.served == 1 and k.rebuild.builds == 1 and not k.rebuild.running
    assert k.store.opened == k.store.closed == 1 and k.rebuild.last_build_s is not None


def test_a_commit_during_the_build_makes_it_go_again_and_one_thread_serves_both():
    k = _Keeper()
    k.hold_build.clear()
    k.commit()
    assert k.in_build.wait(5)
    thread = k.rebuild._thread
    k.commit()                               # lands while the first round builds
    assert k.rebuild._thread is thread       # no second thread: the running one goes again
    k.hold_build.set()
    k.rebuild.wait(5)
    assert k.served == 2 and k.rebuild.builds == 2


def test_a_commit_while_the_last_round_runs_after_starts_a_new_round():
    # the thread that has just published is alive while ``after`` runs (the snapshot's freeze can
    # take seconds); a commit then must not be left to it: it would return without seeing it
    k = _Keeper()
    k.hold_after.clear()
    k.commit()
    assert k.in_after.wait(5)
    first = k.rebuild._thread
    assert first.is_alive() and not k.rebuild.running and k.served == 1
    k.commit()
    assert k.rebuild._thread is not first
    k.hold_after.set()
    k.rebuild.wait(5)
    first.join(5)
    assert k.served == 2


def test_a_failed_build_is_handed_to_the_keeper_and_the_next_start_tries_again():
    k = _Keeper(fail=True)
    k.commit()
    k.rebuild.wait(5)
    assert [str(e) for e in k.failures] == ["the store went away"] and k.served is None
    assert not k.rebuild.running and k.store.opened == k.store.closed == 1
    k.fail = False
    k.commit()
    k.rebuild.wait(5)
    assert k.served == 2


def test_a_plan_of_none_stops_the_rounds():
    k = _Keeper()
    k.stopped = True
    k.commit()
    k.rebuild.wait(5)
    assert k.served is None and k.rebuild.builds == 0 and not k.rebuild.running


def test_run_here_builds_in_the_calling_thread():
    k = _Keeper()
    k.version = 3
    k.rebuild.run_here()
    assert k.served == 3 and k.rebuild._thread is None
