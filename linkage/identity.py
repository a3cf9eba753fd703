"""Stable person ids: a person_id once issued survives later runs, and every change is logged.

Given the previous assignment (mention -> person_id) and new clusters:

- each old id claims the new cluster holding most of its mentions (a tie goes to the cluster with
  the smallest key), so when a person is split *the larger part keeps the id*;
- a cluster claimed by several old ids is a merge: the OLDEST id (creation order) survives, the
  others become ``persons.status = 'merged'`` with ``merged_into`` the survivor;
- a cluster claimed by no old id gets a new id, ``MI-`` + 8 digits + a check letter
  (core/person_ids.py), from the sequence of issued ids
  (one more than the largest ever issued; issued inside the link's transaction, so a failed run
  issues none). If its mentions came from old ids it is a split from them.

Every create / attach / merge / split / move is written to ``person_history`` with the run id or
the deciding person and reason: the log of "combination" under the Data Protection Act 2018, and
the trail by which an alert or note naming an old id is followed to the current one
(:func:`resolve_person_id`). Ids of the form before schema version 2 (``P`` + 8 digits, still in
the audit log) are followed through ``person_id_aliases`` first.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl

from core.errors import IntelError, NotFound
from core.person_ids import format_person_id, is_legacy, parse_person_id
from core.store import Store
from linkage.clusters import Clustering

__all__ = ["Assignment", "assign_person_ids", "follow_merges", "format_person_id", "next_person_number", "person_record",
           "resolve_person_id", "scalar", "write_identity"]


def scalar(store: Store, sql: str, params: Any = None) -> Any:
    """The first value of a query's first row, reading the result to its end (a half-read result
    would block the connection's next register() under DuckDB 2)."""
    rows = store.rows(sql, params)
    return next(iter(rows[0].values())) if rows else None


@dataclass
class Assignment:
    """What :func:`assign_person_ids` decided."""

    person_of: dict[str, str]                       # mention -> person_id
    created: list[str] = field(default_factory=list)  # new ids, in issue order
    merged: dict[str, str] = field(default_factory=dict)  # absorbed id -> survivor
    split_from: dict[str, list[str]] = field(default_factory=dict)  # new id -> old ids it took mentions from
    events: list[dict[str, Any]] = field(default_factory=list)  # person_history rows (without when/who)


def assign_person_ids(
    clusters: Iterable[Iterable[str]],
    previous: dict[str, str],
    next_number: int,
    age: Callable[[str], Any] | None = None,
) -> Assignment:
    """Give each cluster a person_id, keeping old ids stable. Pure.

    ``previous``: mention -> person_id before (mentions absent from it are new). ``next_number``:
    the number of the next id to issue. ``age``: sort key of an old id, smaller = older (default:
    the id itself, which is issue order).
    """
    age = age or (lambda pid: pid)
    groups = sorted((sorted(set(c)) for c in clusters if c), key=lambda c: c[0])

    # each old id claims the cluster with most of its mentions (tie: smallest cluster key)
    spread: dict[str, Counter[str]] = defaultdict(Counter)
    for c in groups:
        for m in c:
            old = previous.get(m)
            if old is not None:
                spread[old][c[0]] += 1
    claimants: dict[str, list[str]] = defaultdict(list)
    for old, counts in spread.items():
        best = min(counts, key=lambda k: (-counts[k], k))
        claimants[best].append(old)

    out = Assignment({})
    number = next_number
    for c in groups:
        owners = sorted(claimants.get(c[0], []), key=lambda pid: (age(pid), pid))
        if owners:
            pid = owners[0]
            for other in owners[1:]:
                out.merged[other] = pid
        else:
            pid = format_person_id(number)
            number += 1
            out.created.append(pid)
            sources = sorted({previous[m] for m in c if m in previous})
            if sources:
                out.split_from[pid] = sources
        for m in c:
            out.person_of[m] = pid

    # the log: one row per (from, to) flow of mentions
    flows: dict[tuple[str | None, str], list[str]] = defaultdict(list)
    for c in groups:
        for m in c:
            old, new = previous.get(m), out.person_of[m]
            if old != new:
                flows[(old, new)].append(m)
    created = set(out.created)
    order = {pid: i for i, pid in enumerate(out.created)}
    for (old, new), mentions in sorted(
        flows.items(), key=lambda kv: (kv[0][1] not in created, order.get(kv[0][1], 0), kv[0][1], kv[0][0] or "")
    ):
        if old is None:
            action = "create" if new in created else "attach"
        elif new in created:
            action = "split"
        elif out.merged.get(old) == new:
            action = "merge"
        else:
            action = "move"
        out.events.append({"action": action, "person_id": old if action == "merge" else new,
                           "related_person_id": new if action == "merge" else old,
                           "mention_ids": sorted(mentions)})
    return out


# -- the store side --------------------------------------------------------------------------

def next_person_number(store: Store) -> int:
    """One more than the largest person_id ever issued (old ids kept their numbers when migrated)."""
    top = scalar(store, "SELECT max(CAST(regexp_extract(person_id, '[0-9]+') AS BIGINT)) FROM persons")
    return 1 if top is None else int(top) + 1


def write_identity(
    store: Store,
    clustering: Clustering,
    *,
    now: datetime,
    run_id: str | None = None,
    decided_by: str | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """Assign stable ids to ``clustering`` (which must cover whole current persons) and write
    person_mentions, persons and person_history. Call inside ``store.transaction()``."""
    scope = sorted(clustering.cluster_of)
    store.register("_scope", pl.DataFrame({"mention_id": scope}, schema={"mention_id": pl.Utf8}))
    try:
        prev_rows = store.rows(
            "SELECT pm.mention_id, pm.person_id, p.created_at FROM person_mentions pm "
            "JOIN _scope s USING (mention_id) LEFT JOIN persons p USING (person_id)")
        previous = {r["mention_id"]: r["person_id"] for r in prev_rows}
        created_at = {r["person_id"]: r["created_at"] for r in prev_rows}
        outside = scalar(store, 
            "SELECT count(*) FROM person_mentions pm WHERE pm.person_id IN "
            "(SELECT pm2.person_id FROM person_mentions pm2 JOIN _scope USING (mention_id)) "
            "AND pm.mention_id NOT IN (SELECT mention_id FROM _scope)")
        if outside:
            raise IntelError(f"internal: a reclustering scope cut {outside} mentions off their persons")
        assignment = assign_person_ids(
            clustering.clusters(), previous, next_person_number(store),
            age=lambda pid: (created_at.get(pid) or datetime.max, pid))

        store.execute("DELETE FROM person_mentions WHERE mention_id IN (SELECT mention_id FROM _scope)")
    finally:
        store.unregister("_scope")
    store.insert_df("person_mentions", pl.DataFrame(
        {
            "mention_id": scope,
            "person_id": [assignment.person_of[m] for m in scope],
            "link_probability": [clustering.probability[m] for m in scope],
            "confirmed": [clustering.confirmed[m] for m in scope],
        },
        schema={"mention_id": pl.Utf8, "person_id": pl.Utf8, "link_probability": pl.Float64,
                "confirmed": pl.Boolean},
    ))
    if assignment.created:
        store.insert_df("persons", pl.DataFrame({
            "person_id": assignment.created,
            "status": ["active"] * len(assignment.created),
            "merged_into": [None] * len(assignment.created),
            "created_at": [now] * len(assignment.created),
            "created_by_run": [run_id] * len(assignment.created),
        }, schema={"person_id": pl.Utf8, "status": pl.Utf8, "merged_into": pl.Utf8,
                   "created_at": pl.Datetime("us"), "created_by_run": pl.Utf8}))
    for old, survivor in assignment.merged.items():
        store.execute("UPDATE persons SET status = 'merged', merged_into = ? WHERE person_id = ?",
                      [survivor, old])
    if assignment.events:
        first = int(scalar(store, "SELECT coalesce(max(history_id), 0) FROM person_history")) + 1
        ev = assignment.events
        store.insert_df("person_history", pl.DataFrame({
            "history_id": list(range(first, first + len(ev))),
            "happened_at": [now] * len(ev),
            "action": [e["action"] for e in ev],
            "person_id": [e["person_id"] for e in ev],
            "related_person_id": [e["related_person_id"] for e in ev],
            "mention_ids": [e["mention_ids"] for e in ev],
            "run_id": [run_id] * len(ev),
            "decided_by": [decided_by] * len(ev),
            "reason": [reason] * len(ev),
        }, schema={"history_id": pl.Int64, "happened_at": pl.Datetime("us"), "action": pl.Utf8,
                   "person_id": pl.Utf8, "related_person_id": pl.Utf8, "mention_ids": pl.List(pl.Utf8),
                   "run_id": pl.Utf8, "decided_by": pl.Utf8, "reason": pl.Utf8}))
    actions = Counter(e["action"] for e in assignment.events)
    return {
        "mentions_clustered": len(scope),
        "persons_in_scope": len(set(assignment.person_of.values())),
        "persons_created": len(assignment.created) - len(assignment.split_from),
        "persons_merged": len(assignment.merged),
        "persons_split": len(assignment.split_from),
        "mention_moves": actions.get("move", 0),
        "mentions_attached": sum(len(e["mention_ids"]) for e in assignment.events if e["action"] == "attach"),
        "merged_ids": dict(sorted(assignment.merged.items())),
        "split_ids": {k: v for k, v in sorted(assignment.split_from.items())},
    }


def resolve_person_id(store: Store, person_id: str) -> str:
    """The current id of ``person_id`` as a user gave it: an old-form id (``P`` + 8 digits) is first
    followed to the id it became, then merges to the survivor (:func:`follow_merges`).
    MalformedPersonId (core/person_ids.py) for text that is no person id, NotFound for an unknown one."""
    person_id = parse_person_id(person_id)
    if not is_legacy(person_id):
        return follow_merges(store, person_id)
    became = scalar(store, "SELECT person_id FROM person_id_aliases WHERE old_id = ?", [person_id])
    if became is None:
        raise NotFound(f"no person {person_id!r}")
    return follow_merges(store, became, asked=person_id)


def follow_merges(store: Store, person_id: str, *, asked: str | None = None) -> str:
    """The survivor of an id the store holds (not checked for form: stored ids are ours): follows
    merges; an id that is still active (including one that lost mentions to a split) is itself.
    NotFound for an unknown id; ``asked``: the id the user gave, for the messages."""
    asked = asked or person_id
    seen: list[str] = []
    current = person_id
    while True:
        row = store.rows("SELECT status, merged_into FROM persons WHERE person_id = ?", [current])
        if not row:
            if current == asked:
                raise NotFound(f"no person {asked!r}")
            if not seen:
                raise IntelError(f"person {asked!r} became {current!r}, which does not exist")
            raise IntelError(f"person {asked!r} was merged into {current!r}, which does not exist")
        if row[0]["status"] != "merged" or row[0]["merged_into"] is None:
            return current
        seen.append(current)
        current = row[0]["merged_into"]
        if current in seen:
            raise IntelError(f"person {asked!r}: merges form a loop through {seen}")


# up to this many records a person's records are read by their key (an index lookup each); a
# join scans every mention (~0.1 s at 1.1M mentions, and the search page reads 20 persons)
_BY_KEY = 500


def _linked_mentions(store: Store, person_id: str) -> list[dict[str, Any]]:
    """The person's mentions (mention_id, source, record_id, link_probability, confirmed) by
    agency and record id."""
    links = store.rows("SELECT mention_id, link_probability, confirmed FROM person_mentions WHERE person_id = ?",
                       [person_id])
    if len(links) > _BY_KEY:
        return store.rows(
            "SELECT m.mention_id, m.source, m.record_id, pm.link_probability, pm.confirmed "
            "FROM person_mentions pm JOIN mentions m USING (mention_id) WHERE pm.person_id = ? "
            "ORDER BY m.source, m.record_id", [person_id])
    ids = [r["mention_id"] for r in links]
    found = {r["mention_id"]: r for r in store.rows(
        f"SELECT mention_id, source, record_id FROM mentions WHERE mention_id IN ({', '.join('?' * len(ids))})",
        ids)} if ids else {}
    out = [{**found[r["mention_id"]], "link_probability": r["link_probability"], "confirmed": r["confirmed"]}
           for r in links if r["mention_id"] in found]
    return sorted(out, key=lambda r: (r["source"], r["record_id"]))


def person_record(store: Store, person_id: str) -> dict[str, Any]:
    """How a person is tied together: the resolved id, its status, each mention with its link
    probability and whether a person confirmed it, and every person_history entry naming it or an
    id merged into it. Each read is by key: on a 1.1M-mention store the record is the person page's
    biggest read (a recursive join over every person and a filter reading every column of the
    history cost ~0.1 s between them; tests/linkage/test_identity.py keeps the answers equal)."""
    resolved = resolve_person_id(store, person_id)
    aliases = _merged_into_closure(store, resolved)
    status = scalar(store, "SELECT status FROM persons WHERE person_id = ?", [resolved])
    mentions = _linked_mentions(store, resolved)
    ids = sorted(aliases)
    old_ids = [r["old_id"] for r in store.rows(
        "SELECT old_id FROM person_id_aliases WHERE list_contains(?, person_id) ORDER BY old_id", [ids])]
    return {
        "requested_id": person_id,
        "person_id": resolved,
        "status": status,
        "merged_ids": sorted(a for a in aliases if a != resolved),
        "old_ids": old_ids,        # the form before schema version 2, as the audit log may name them
        "mentions": mentions,
        "history": _history_naming(store, ids),
    }


def _merged_into_closure(store: Store, person_id: str) -> set[str]:
    """``person_id`` and every id merged into it, directly or through others: a point query a
    generation (nearly always one), not a recursive join of the persons table."""
    found, frontier = {person_id}, [person_id]
    while frontier:
        rows = store.rows(f"SELECT person_id FROM persons WHERE merged_into IN ({', '.join('?' * len(frontier))})",
                          frontier)
        frontier = sorted({r["person_id"] for r in rows} - found)
        found.update(frontier)
    return found


_HISTORY_COLS = "history_id, happened_at, action, person_id, related_person_id, mention_ids, run_id, decided_by, reason"


def _history_naming(store: Store, ids: list[str]) -> list[dict[str, Any]]:
    """Every person_history entry naming one of ``ids``, in order: the entries' keys from the two
    narrow id columns, then the entries by key (a filter on the whole table read every column of
    every entry, mention lists included)."""
    marks = ", ".join("?" * len(ids))
    # two filters, one per column, each pushed into its scan (an OR of the two read ~2x longer)
    keys = sorted(r["history_id"] for r in store.rows(
        f"SELECT history_id FROM person_history WHERE person_id IN ({marks}) "
        f"UNION SELECT history_id FROM person_history WHERE related_person_id IN ({marks})", [*ids, *ids]))
    if len(keys) > _BY_KEY_HISTORY:
        return store.rows(f"SELECT {_HISTORY_COLS} FROM person_history WHERE history_id IN "
                          "(SELECT unnest(?::BIGINT[])) ORDER BY history_id", [keys])
    return [row for k in keys for row in store.rows(f"SELECT {_HISTORY_COLS} FROM person_history WHERE history_id = ?", [k])]


_BY_KEY_HISTORY = 20   # entries read one by one (an index probe each); more: one semi-join
