"""The alert queue of one store state, kept in memory so that listing a page of it only filters,
counts and slices.

findings.alerts.list_alerts answers from SQL on every call: at 1.1M mentions and 21,855 alerts
that is ~1 s for the first 50 alerts in the open lens and ~4 s in a restricted one (every alert's
evidence parsed to screen it, four scans of the mentions for the page's words). What it reads does
not change between commits, so :class:`AlertQueue` reads it once (``build``, in one transaction):

- every alert as read for every viewer (findings.alerts.shape_static), kept pickled (each request gets
  its own copy to shape), in queue order (severity, score, newest: status plays no part in it);
- what each alert is filtered on (rule, severity, subject and people, possible) and the
  restrictions of the records its evidence names (access.lens.alert_restrictions), so a viewer's
  lens screens the queue with a set lookup;
- the words of each alert (its subject and evidence in words) per lens, computed the first time a
  page needs them, or ahead of time by :meth:`warm`, and kept;
- the people a MARAC coordinator's queue is limited to (those with a domestic-abuse record they
  see), per lens, the first time a lens asks.

What does change between commits is read per request: an alert's status and history come from
``alert_events`` (a small table: the hub's acknowledgements and closures), so an alert
acknowledged or closed shows its new status at once. The date the data runs to (ages in the words)
is checked per request too: if it is not the one the words were read on, :meth:`page` answers
None and the caller reads from SQL.

The answers are list_alerts' own: the same shaping functions, the same order, filters and screen
(tests/findings/test_alert_queue.py compares them, both lenses, totals included).
"""

from __future__ import annotations

import pickle
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from access.lens import Lens, alert_restrictions, evidence_tokens, restricted_ids
from core.store import Store
from findings.alert_config import MARAC_RULES
from findings.alerts import (alert_histories, alert_words, check_filters, check_page, list_sql, person_filter,
                             queue_order, shape_static, triage_columns)
from findings.as_of import extract_date

_LATEST = ("SELECT alert_id, status, acted_at FROM alert_events QUALIFY row_number() OVER ("
           "PARTITION BY alert_id ORDER BY acted_at DESC, CASE status WHEN 'closed' THEN 0 ELSE 1 END) = 1")


def marac_scope(store: Store, lens: Lens = Lens.of(health_clearance=False, export=True)) -> dict[str, Any]:
    """list_alerts' ``rules`` and ``person_ids`` for a MARAC coordinator: marac_criteria and
    escalation alerts about people with a domestic-abuse record they see (``lens``, theirs: as
    access.lens.has_domestic_abuse decides whether they may open a person, so a person whose only
    such record is hidden from them is out of scope, as one with none is; listing an alert about
    them would say they have one)."""
    people = [r["person_id"] for r in store.rows(
        "SELECT DISTINCT pm.person_id FROM person_mentions pm JOIN mentions m USING (mention_id) "
        f"WHERE m.event_type = 'domestic_abuse' AND {lens.full_sql('m')}")]
    return {"rules": list(MARAC_RULES), "person_ids": people}


@dataclass(frozen=True)
class _Entry:
    alert_id: str
    rule: str
    severity: str
    person_id: str | None
    person_ids: frozenset[str]
    household_key: str | None
    possible: bool
    baseline: bool
    updated_at: datetime | None
    restrictions: frozenset[str]

    @property
    def base(self) -> str:
        """Its status while nobody has acted on it."""
        return "baseline" if self.baseline and self.updated_at is None else "new"


@dataclass(frozen=True)
class _Selection:
    """The alerts one set of filters and one lens keep, in queue order, with the statuses they
    have while nobody has acted on them (counted), so a request adjusts for the few acted on."""
    ids: list[str]
    bases: list[str]
    counts: Counter
    members: frozenset[str]


_KEPT_SELECTIONS = 256   # filter sets kept per state (past that, forgotten and read again)


def _status(e: _Entry, latest: tuple[str, datetime] | None) -> str:
    """findings.alerts.list_sql's derived status, from the alert's latest action (if any)."""
    if latest is None:
        return e.base
    status, acted_at = latest
    if status == "acknowledged" and e.updated_at is not None and e.updated_at > acted_at:
        return "new"
    return status


def _clock() -> datetime:
    """The serving clock (a test moves it to another day)."""
    return datetime.now()


class AlertQueue:
    def __init__(self, entries: list[_Entry], static: dict[str, bytes], as_of: date | None) -> None:
        self.entries = entries                     # queue order
        self._index = {e.alert_id: e for e in entries}
        self._static = static                      # alert_id -> pickled findings.alerts.shape_static row
        self.as_of = as_of
        self._marac: dict[Lens, dict[str, Any]] = {}      # per lens: marac_scope of this state
        self._selections: dict[tuple, _Selection] = {}     # per filters and lens
        self._words: dict[Lens, dict[str, bytes]] = {}   # per lens: alert_id -> pickled (subject, words)
        self._lock = threading.Lock()
        self._dates: dict[date, tuple[date | None]] = {}   # calendar day -> (extract_date on it,)

    @classmethod
    def build(cls, store: Store) -> AlertQueue:
        """Read every alert once (the caller holds a transaction, so all of it is one state)."""
        triage = triage_columns(store)
        raw = store.rows(list_sql("TRUE", triage))
        raw.sort(key=queue_order, reverse=True)
        shaped = shape_static(store, raw, with_subject=True)
        restricted = restricted_ids(store, {t for a in shaped for t in evidence_tokens(a["evidence"])})
        entries = [_Entry(r["alert_id"], r["rule"], r["severity"], r["person_id"], frozenset(r["person_ids"] or ()),
                          r["household_key"], r.get("possible_links") is not None, bool(r.get("baseline")),
                          r.get("updated_at"), frozenset(alert_restrictions(a, restricted)))
                   for r, a in zip(raw, shaped)]
        for a in shaped:
            a["status"] = None
        static = {a["alert_id"]: pickle.dumps(a, pickle.HIGHEST_PROTOCOL) for a in shaped}
        return cls(entries, static, extract_date(store, datetime.now()))

    def marac_scope(self, store: Store, lens: Lens) -> dict[str, Any]:
        """marac_scope(store, lens) of this state: read the first time a lens asks, then kept."""
        with self._lock:
            kept = self._marac.get(lens)
        if kept is None:
            kept = marac_scope(store, lens)
            with self._lock:
                self._marac[lens] = kept
        return {"rules": list(kept["rules"]), "person_ids": list(kept["person_ids"])}

    # -- a page ---------------------------------------------------------------------------------
    def page(self, store: Store, status: str | None = None, rule: str | None = None, limit: int | None = None,
             offset: int = 0, *, person_id: str | None = None, severity: str | None = None,
             rules: list[str] | None = None, person_ids: list[str] | None = None,
             config: Mapping[str, Any] | None = None, possible: bool | None = None,
             lens: Lens | None = None) -> dict[str, Any] | None:
        """list_alerts(..., with_total=True) of this state (its arguments, its refusals), with the
        statuses and histories of now; None when the data's date has moved on since the build
        (the caller reads from SQL)."""
        check_filters(status, rule, severity, config)
        check_page(limit, offset)
        wanted = set(person_filter(store, person_id)) if person_id is not None else None
        if self._data_date(store) != self.as_of:
            return None
        people = frozenset(person_ids) if person_ids is not None else None
        key = (rule, severity, None if rules is None else tuple(sorted(set(rules))), possible,
               None if wanted is None else frozenset(wanted), people,
               lens.withheld if lens is not None else frozenset())
        chosen = self._selection(key)
        # statuses of now: only the alerts someone has acted on differ from the kept ones
        changed = {}
        for r in store.rows(_LATEST):
            if r["alert_id"] in chosen.members:
                changed[r["alert_id"]] = _status(self._index[r["alert_id"]], (r["status"], r["acted_at"]))

        def keeps(now: str) -> bool:
            return status in (None, "all") or (now != "closed" if status == "open" else now == status)

        total = sum(n for base, n in chosen.counts.items() if keeps(base)) + \
            sum(keeps(now) - keeps(self._index[i].base) for i, now in changed.items())
        shown: list[tuple[str, str]] = []
        seen, stop = 0, None if limit is None else offset + limit
        for i, base in zip(chosen.ids, chosen.bases):
            now = changed.get(i, base)
            if not keeps(now):
                continue
            if stop is not None and seen >= stop:
                break
            if seen >= offset:
                shown.append((i, now))
            seen += 1
        return {"total": total, "items": self._items(store, shown, lens)}

    def _data_date(self, store: Store) -> date | None:
        """The date the data runs to, read once a calendar day: this queue is one store state
        (every commit that could move that date rebuilds it), so only the clock can move it, and
        only across midnight (drops and events are dated by day). Reading it per request scanned
        the mentions' dates: about a tenth of an alert page's work at 1.1M mentions."""
        now = _clock()
        with self._lock:
            kept = self._dates.get(now.date())
        if kept is None:
            kept = (extract_date(store, now),)
            with self._lock:
                self._dates = {now.date(): kept}
        return kept[0]

    def _selection(self, key: tuple) -> _Selection:
        """The alerts these filters (``page``'s key: rule, severity, rules, possible, the ids a
        person filter and a people filter accept, the lens's withheld restrictions) keep."""
        with self._lock:
            kept = self._selections.get(key)
        if kept is not None:
            return kept
        rule, severity, rule_set, possible, wanted, people, withheld = key
        chosen = [e for e in self.entries
                  if not (rule is not None and e.rule != rule or severity is not None and e.severity != severity
                          or rule_set is not None and e.rule not in rule_set
                          or possible is not None and e.possible != possible
                          or wanted is not None and not _names(e, wanted)
                          or people is not None and not _names(e, people)
                          or withheld & e.restrictions)]
        bases = [e.base for e in chosen]
        kept = _Selection([e.alert_id for e in chosen], bases, Counter(bases), frozenset(e.alert_id for e in chosen))
        with self._lock:
            if len(self._selections) >= _KEPT_SELECTIONS:
                self._selections.clear()
            self._selections[key] = kept
        return kept

    def _items(self, store: Store, shown: list[tuple[str, str]], lens: Lens | None) -> list[dict[str, Any]]:
        if not shown:
            return []
        items = [pickle.loads(self._static[i]) for i, _ in shown]
        history = alert_histories(store, [i for i, _ in shown])
        for a, (i, now) in zip(items, shown):
            a["status"], a["history"] = now, history.get(i, [])
        for a, (subject, told) in zip(items, self.words(store, [i for i, _ in shown], lens)):
            a["subject"], a["evidence_words"] = subject, told
        return items

    # -- words ----------------------------------------------------------------------------------
    def words(self, store: Store, alert_ids: list[str], lens: Lens | None) -> list[tuple[str | None, dict[str, Any]]]:
        """Each alert's (subject in words, evidence in words) through ``lens``: kept ones, and the
        others read now (one batch) and kept."""
        with self._lock:
            kept = self._words.setdefault(lens or Lens(), {})
            missing = [i for i in alert_ids if i not in kept]
        if missing:
            self._read_words(store, missing, lens)
        return [pickle.loads(kept[i]) for i in alert_ids]

    def warm(self, store: Store, lens: Lens | None, batch: int = 500, stop: Any = None) -> int:
        """Read the words of every alert ``lens`` may see that are not kept yet, in queue order,
        ``batch`` at a time (``stop()`` true: give up between batches). Returns how many were read."""
        withheld = lens.withheld if lens is not None else frozenset()
        with self._lock:
            kept = self._words.setdefault(lens or Lens(), {})
            todo = [e.alert_id for e in self.entries if not withheld & e.restrictions and e.alert_id not in kept]
        done = 0
        for n in range(0, len(todo), batch):
            if stop is not None and stop():
                break
            done += self._read_words(store, todo[n: n + batch], lens)
        return done

    def kept_words(self) -> dict[str, int]:
        with self._lock:
            return {_lens_name(lens): len(kept) for lens, kept in self._words.items()}

    def _read_words(self, store: Store, alert_ids: Iterable[str], lens: Lens | None) -> int:
        shaped = [pickle.loads(self._static[i]) for i in alert_ids]
        rows = [{"alert_id": e.alert_id, "person_id": e.person_id, "household_key": e.household_key}
                for e in (self._index[a["alert_id"]] for a in shaped)]
        told = alert_words(store, rows, shaped, self.as_of, lens)
        with self._lock:
            kept = self._words.setdefault(lens or Lens(), {})
            for a, pair in zip(shaped, told):
                kept[a["alert_id"]] = pickle.dumps(pair, pickle.HIGHEST_PROTOCOL)
        return len(shaped)


def _names(e: _Entry, ids: set[str]) -> bool:
    """list_alerts' person filter: the alert's subject or one of its people is among ``ids``."""
    return e.person_id in ids or not e.person_ids.isdisjoint(ids)


def _lens_name(lens: Lens) -> str:
    return "open" if lens.is_open else "without " + " and ".join(sorted(lens.withheld))
