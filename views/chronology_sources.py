"""Where a chronology reads its records from: the store (SQL lookups) or a snapshot in memory.

:func:`views.chronology.chronology` needs six lookups: resolve a person id, the persons of a
household, a person's mentions with their events, the other records of those events and
households, and the open alerts. Two readers answer them with the same results, in the same
order (``tests/intel/test_chronology_sources.py`` compares them on every person and household
of a generated world):

- :class:`StoreReader` asks DuckDB. What the CLI uses, and the API while its snapshot is being
  rebuilt. At 1M mentions each lookup costs DuckDB 1-5 ms (DuckDB 2.0 answers a point query
  with a filtered scan of the column, not an index probe), so a chronology is ~18 ms of queries.
- :class:`SnapshotReader` answers from frames sorted by each lookup key, built once from one
  read transaction (so it is one committed state, never half a run). The API serves from it
  (``api/snapshot.py`` says when it is current); a chronology then costs ~2 ms, mostly the
  Python that assembles it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import polars as pl

from access.lens import alert_restrictions, evidence_tokens, restricted_ids
from core.errors import IntelError, NotFound
from core.person_ids import is_legacy, parse_person_id
from core.sorted_frame import SortedFrame
from core.store import Store
from findings.alerts import list_alerts_for, open_alerts_with_raw_ids
from findings.as_of import extract_date
from linkage.identity import resolve_person_id

M_COLS = ("mention_id, source, event_key, event_id, event_date, role, event_type, forename_raw, "
          "middle_names_raw, surname_raw, dob, address_raw, postcode, household_key, restriction")
E_COLS = ("event_key, dash_risk, initial_rag, final_rag, decision_date, outcome, referral_source, presentation, "
          "safeguarding_concern, location_postcode")
NEAR_COLS = "event_key, mention_id, role, restriction, event_date, dob, household_key, forename_raw, surname_raw"

# mentions with each one's household as its dwelling (findings.dwellings; the sent key until analytics placed it)
PLACED = ("(SELECT m.* REPLACE (coalesce(md.dwelling_key, m.household_key) AS household_key) "
          "FROM mentions m LEFT JOIN mention_dwellings md USING (mention_id))")

_PM_FIELDS = ("mention_id", "person_id", "link_probability", "confirmed")
_M_FIELDS = tuple(c.strip() for c in M_COLS.split(","))
_E_FIELDS = tuple(c.strip() for c in E_COLS.split(","))
_NEAR_FIELDS = tuple(c.strip() for c in NEAR_COLS.split(","))


def _placed(column: str) -> str:
    """``m.<column>``, the household as the mention's dwelling (``md``: mention_dwellings)."""
    return "coalesce(md.dwelling_key, m.household_key) AS household_key" if column == "household_key" else f"m.{column}"


def _in(values: list[str]) -> str:
    """Placeholders for a constant IN list."""
    return ", ".join("?" * len(values)) if values else "NULL"


class StoreReader:
    """The chronology's lookups as SQL on the store (each a few small queries)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def resolve(self, person_id: str) -> str:
        return resolve_person_id(self.store, person_id)

    def as_of(self) -> date | None:
        """The date the data runs to (findings.as_of.extract_date), as of now."""
        return extract_date(self.store, datetime.now())

    def weakest_links(self, person_ids: list[str]) -> dict[str, float | None]:
        """Each person's lowest link probability over their records (those still in ``mentions``)."""
        if not person_ids:
            return {}
        rows = self.store.rows(
            "SELECT pm.person_id, min(pm.link_probability) AS weakest FROM person_mentions pm "
            "JOIN mentions m USING (mention_id) WHERE pm.person_id IN (SELECT unnest(?::VARCHAR[])) "
            "GROUP BY pm.person_id", [sorted(set(person_ids))])
        return {r["person_id"]: r["weakest"] for r in rows}

    def household_persons(self, household_key: str) -> list[str]:
        there = [r["mention_id"] for r in self.store.rows(f"SELECT mention_id FROM {PLACED} WHERE household_key = ?",
                                                          [household_key])]
        return sorted(set(self._persons_of(there).values()))

    def person_rows(self, person_ids: list[str]) -> list[dict[str, Any]]:
        """Every mention of these persons with its event, in person_mentions' row order (the
        header's ties keep that order)."""
        store = self.store
        pm = store.rows(f"SELECT mention_id, person_id, link_probability, confirmed FROM person_mentions "
                        f"WHERE person_id IN ({_in(person_ids)})", person_ids)
        if not pm:
            return []
        ids = [r["mention_id"] for r in pm]
        mentions = {r["mention_id"]: r for r in store.rows(f"SELECT {M_COLS} FROM {PLACED} WHERE mention_id IN ({_in(ids)})", ids)}
        keys = sorted({m["event_key"] for m in mentions.values()})
        events = {r["event_key"]: r for r in store.rows(f"SELECT {E_COLS} FROM events WHERE event_key IN ({_in(keys)})", keys)}
        out = []
        empty = dict.fromkeys(_E_FIELDS)
        for r in pm:
            m = mentions.get(r["mention_id"])
            if m is not None:
                out.append({**r, **m, **events.get(m["event_key"], empty)})
        return out

    def _persons_of(self, mention_ids: list[str]) -> dict[str, str]:
        if not mention_ids:
            return {}
        return {r["mention_id"]: r["person_id"] for r in self.store.rows(
            f"SELECT mention_id, person_id FROM person_mentions WHERE mention_id IN ({_in(mention_ids)})", mention_ids)}

    def nearby(self, event_keys: list[str], household_keys: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The other records of these events (participants: every mention in them, ``person_id``
        None where unlinked, by mention id) and of these households (residents: linked mentions
        only, in table order): two queries in all (each query has a fixed cost - parse, plan -
        that a chronology of a few rows is mostly made of)."""
        parts = []
        params: list[Any] = []
        if event_keys:
            parts.append(f"SELECT TRUE AS participant, {NEAR_COLS} FROM {PLACED} WHERE event_key IN ({_in(event_keys)})")
            params += event_keys
        if household_keys:
            parts.append(f"SELECT FALSE AS participant, {NEAR_COLS} FROM {PLACED} WHERE household_key IN ({_in(household_keys)})")
            params += household_keys
        if not parts:
            return [], []
        found = self.store.rows(" UNION ALL ".join(parts), params)
        holders = self._persons_of(sorted({r["mention_id"] for r in found}))
        participants, residents = [], []
        for r in found:
            r["person_id"] = holders.get(r["mention_id"])
            if r.pop("participant"):
                participants.append(r)
            elif r["person_id"] is not None:
                residents.append(r)
        participants.sort(key=lambda r: r["mention_id"])
        return participants, residents

    def open_alerts(self, person_ids: list[str], household_key: str | None) -> list[dict[str, Any]]:
        """Alerts not closed about these persons or this household, newest first, each with the
        ``restrictions`` of the records its evidence names (access/lens.py screens them for a
        viewer) and marked ``rests_on_hub_only`` when those include a hub_only record."""

        alerts = [a for a in list_alerts_for(self.store, person_ids=person_ids, household_key=household_key)
                  if a["status"] != "closed"]
        restricted = restricted_ids(self.store, {t for a in alerts for t in evidence_tokens(a.get("evidence"))})
        for a in alerts:
            a["restrictions"] = alert_restrictions(a, restricted)
            a["rests_on_hub_only"] = "hub_only" in a["restrictions"]
        return alerts


def _open_alerts_of(store: Store) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Every alert not closed, newest first, shaped as list_alerts_for shapes them (with the raw
    person ids its query matches on, under ``_person_id`` / ``_person_ids``), and the restricted
    records and events their evidence names (access.lens.restricted_ids)."""
    alerts = []
    for a, r in open_alerts_with_raw_ids(store):
        a["_person_id"], a["_person_ids"] = r["person_id"], r["person_ids"]
        alerts.append(a)
    restricted = restricted_ids(store, {t for a in alerts for t in evidence_tokens(a.get("evidence"))})
    return alerts, restricted


class SnapshotReader:
    """The chronology's lookups answered from memory, for one committed state of the store.

    Built by :meth:`build` inside one read transaction. It holds the mentions (with their person
    and event) sorted by person, by event and by household, the persons' merge chain, and the
    alerts that are not closed (its size and build time at 1M mentions are in docs/bench-api.md).
    It never changes: a newer state of the store is a new snapshot."""

    def __init__(self, *, merged_into: dict[str, str | None], known: set[str], by_person: SortedFrame,
                 by_event: SortedFrame, by_household: SortedFrame, alerts: list[dict[str, Any]], restricted: dict[str, str],
                 as_of: date | None = None, old_ids: dict[str, str] | None = None) -> None:
        self._merged_into = merged_into
        self._old_ids = old_ids or {}
        self._as_of = as_of
        self._known = known
        self._by_person = by_person
        self._by_event = by_event
        self._by_household = by_household
        self._alerts = alerts
        self._restricted = restricted
        self._alerts_by_person: dict[str, list[int]] = {}
        self._alerts_by_household: dict[str, list[int]] = {}
        for i, a in enumerate(alerts):
            for p in {a["_person_id"], *(a["_person_ids"] or [])}:
                if p is not None:
                    self._alerts_by_person.setdefault(p, []).append(i)
            if a["household_key"] is not None:
                self._alerts_by_household.setdefault(a["household_key"], []).append(i)

    @classmethod
    def build(cls, store: Store) -> SnapshotReader:
        """Read everything a chronology needs in one transaction (one committed state)."""
        with store.transaction():
            persons = store.df("SELECT person_id, status, merged_into FROM persons")
            old_ids = dict(store.df("SELECT old_id, person_id FROM person_id_aliases").iter_rows())
            # person_mentions' row order is the order StoreReader returns a person's rows in
            mine = store.df(
                f"SELECT pm.rowid AS _pm_order, pm.mention_id, pm.person_id, pm.link_probability, pm.confirmed, "
                f"{', '.join(_placed(c) for c in _M_FIELDS if c != 'mention_id')}, "
                f"{', '.join('e.' + c for c in _E_FIELDS if c != 'event_key')} "
                "FROM person_mentions pm JOIN mentions m ON m.mention_id = pm.mention_id "
                "LEFT JOIN mention_dwellings md ON md.mention_id = m.mention_id "
                "LEFT JOIN events e ON e.event_key = m.event_key ORDER BY pm.person_id, pm.rowid")
            near = store.df(
                f"SELECT m.rowid AS _m_order, {', '.join(_placed(c) for c in _NEAR_FIELDS)}, pm.person_id "
                "FROM mentions m LEFT JOIN mention_dwellings md ON md.mention_id = m.mention_id "
                "LEFT JOIN person_mentions pm ON pm.mention_id = m.mention_id")
            alerts, restricted = _open_alerts_of(store)
            as_of = extract_date(store, datetime.now())
        merged_into = {p: (m if s == "merged" else None)
                       for p, s, m in zip(persons["person_id"].to_list(), persons["status"].to_list(),
                                          persons["merged_into"].to_list())}
        return cls(
            merged_into=merged_into, known=set(merged_into),
            by_person=SortedFrame(mine, "person_id"),
            by_event=SortedFrame(near.sort(["event_key", "mention_id"]), "event_key"),
            by_household=SortedFrame(near.filter(pl.col("person_id").is_not_null()).sort(["household_key", "_m_order"]),
                                 "household_key"),
            alerts=alerts, restricted=restricted, as_of=as_of, old_ids=old_ids)

    def with_alerts_from(self, store: Store) -> SnapshotReader:
        """The same records with the alerts reloaded (after an alert was acknowledged or closed:
        nothing else changed, so the frames are kept)."""
        with store.transaction():
            alerts, restricted = _open_alerts_of(store)
        return SnapshotReader(merged_into=self._merged_into, known=self._known, by_person=self._by_person,
                              by_event=self._by_event, by_household=self._by_household, alerts=alerts,
                              restricted=restricted, as_of=self._as_of, old_ids=self._old_ids)

    # -- the lookups (same answers as StoreReader) --------------------------------------------
    def as_of(self) -> date | None:
        """The date the data runs to, read with the snapshot (no SQL on a request's path)."""
        return self._as_of

    def resolve(self, person_id: str) -> str:
        person_id = parse_person_id(person_id)
        seen: list[str] = []
        current = person_id
        if is_legacy(person_id):
            current = self._old_ids.get(person_id)
            if current is None:
                raise NotFound(f"no person {person_id!r}")
        while True:
            if current not in self._known:
                if current == person_id:
                    raise NotFound(f"no person {person_id!r}")
                if not seen:
                    raise IntelError(f"person {person_id!r} became {current!r}, which does not exist")
                raise IntelError(f"person {person_id!r} was merged into {current!r}, which does not exist")
            nxt = self._merged_into[current]
            if nxt is None:
                return current
            seen.append(current)
            current = nxt
            if current in seen:
                raise IntelError(f"person {person_id!r}: merges form a loop through {seen}")

    def weakest_links(self, person_ids: list[str]) -> dict[str, float | None]:
        """As :meth:`StoreReader.weakest_links`, from the person frame (its rows are the person's
        mentions joined to ``mentions``): one slice a person, no SQL (that query scanned
        person_mentions, ~90 ms at 1.1M mentions, on every search results page)."""
        out: dict[str, float | None] = {}
        for pid, part in zip(dict.fromkeys(p for p in person_ids if p in self._by_person),
                             self._by_person.slices(person_ids)):
            out[pid] = part["link_probability"].min()
        return out

    def household_persons(self, household_key: str) -> list[str]:
        return sorted({r["person_id"] for r in self._by_household.rows([household_key])})

    def person_rows(self, person_ids: list[str]) -> list[dict[str, Any]]:
        rows = self._by_person.rows(person_ids)
        if len(person_ids) > 1:
            rows.sort(key=lambda r: r["_pm_order"])
        for r in rows:
            del r["_pm_order"]
        return rows

    def nearby(self, event_keys: list[str], household_keys: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        participants = self._by_event.rows(event_keys)
        participants.sort(key=lambda r: r["mention_id"])
        residents = self._by_household.rows(household_keys)
        if len(household_keys) > 1:
            residents.sort(key=lambda r: r["_m_order"])
        for r in participants + residents:
            del r["_m_order"]
        return participants, residents

    def open_alerts(self, person_ids: list[str], household_key: str | None) -> list[dict[str, Any]]:
        hits = {i for p in person_ids for i in self._alerts_by_person.get(p, [])}
        if household_key is not None:
            hits |= set(self._alerts_by_household.get(household_key, []))
        out = []
        for i in sorted(hits):  # the alerts are kept newest first
            a = {k: v for k, v in self._alerts[i].items() if not k.startswith("_")}
            a["restrictions"] = alert_restrictions(a, self._restricted)
            a["rests_on_hub_only"] = "hub_only" in a["restrictions"]
            out.append(a)
        return out
