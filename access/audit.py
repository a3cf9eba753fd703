"""The audit log: who read or changed personal data, when, why, and what they got.

``audit_log`` is append-only: :class:`AuditWriter` only ever INSERTs, and nothing in the API
updates or deletes it. Each entry holds the MAC of the entry before it and its own: an HMAC-SHA256
keyed by a secret kept outside the store (access/audit_chain.py), and each write moves the chain's
head in an anchor file, so ``access.audit_verify.verify`` finds an entry that was changed, removed,
cut from the end or rewritten behind our back.
The API server makes entries durable first in an :class:`AuditJournal` beside the store and
moves them into ``audit_log`` in batches; :func:`recover_journal` moves in what a crash left.

Linkage is 'combination' under the Data Protection Act 2018 (Part 3, s.62): every merge and
split of persons is logged in ``person_history`` (by the link run that made it, or the person
and reason that decided it). :func:`list_audit` with ``person`` shows both: the requests about
that person (and the ids merged into it) and its combination history.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from access.audit_chain import Anchor, AuditKeys, audit_paths, create_key, load_keys
from core.errors import IntelError
from core.person_ids import is_legacy, parse_person_id
from core.store import Store

GENESIS = "0" * 64
_FIELDS = ("seq", "logged_at", "user_name", "role", "method", "endpoint", "path", "subject_kind",
           "subject_id", "purpose", "status", "detail")
_COLUMNS = (*_FIELDS, "key_id", "prev_hash", "entry_hash")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def entry_mac(keys: AuditKeys | None, prev_hash: str, entry: dict[str, Any]) -> str:
    """The MAC an entry must carry: HMAC-SHA256 under the key named by its ``key_id`` of the
    previous entry's MAC and its own fields (the key id included). An entry without a key id is
    from before the chain was keyed: plain SHA-256 (verify reports those as unkeyed)."""
    values = [entry[f] if not isinstance(entry[f], datetime) else entry[f].isoformat() for f in _FIELDS]
    kid = entry.get("key_id")
    if kid is None:
        body = json.dumps(values, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()
    body = json.dumps([*values, kid], separators=(",", ":"), ensure_ascii=False)
    if keys is None:
        raise KeyError(kid)
    return keys.mac(prev_hash + body, kid)


def open_chain(store: Store, config: dict[str, Any] | None = None) -> tuple[AuditKeys, Anchor]:
    """The audit key and anchor of this store (``[audit]`` in the config, default beside it). A
    store whose audit log is empty and has no anchor yet gets a new key (mode 0600) and, at once,
    an anchor at the chain's start (entry 0): from then on a missing anchor is always reported,
    even over an empty log (a log wiped with its anchor). Otherwise a missing or unsafe key file
    is an IntelError: entries are never written with a key that cannot verify the ones before them."""
    key_file, anchor_file = audit_paths(store.path, config)
    if not key_file.exists() and not anchor_file.exists() \
            and not store.scalar("SELECT count(*) FROM audit_log"):
        keys, anchor = create_key(key_file), Anchor(anchor_file)
        anchor.write(keys, 0, GENESIS)
        return keys, anchor
    return load_keys(key_file), Anchor(anchor_file)


class AuditWriter:
    """Appends audit entries, one at a time (a lock keeps the sequence and the chain in order).

    One writer per process that holds the store; entries are written in their own small
    transaction on the caller's cursor, into a table no other writer updates, so they never
    conflict with a nightly run's transaction and are never lost to its rollback.
    """

    def __init__(self, store: Store, config: dict[str, Any] | None = None) -> None:
        self._lock = threading.Lock()
        self.keys, self.anchor = open_chain(store, config)
        # a crash's journaled entries first: the chain continues after them
        recover_journal(store, keys=self.keys)
        last = store.rows("SELECT seq, entry_hash FROM audit_log ORDER BY seq DESC LIMIT 1")
        self._seq = last[0]["seq"] if last else 0
        self._hash = last[0]["entry_hash"] if last else GENESIS
        head = self.anchor.read(self.keys)
        if head is not None and head.seq > self._seq:
            # the log ends before its anchor: entries were cut. Continue after the anchor's head,
            # so the cut stays visible as a gap (`intel audit --verify`) and is never overwritten.
            print(f"audit: the log ends at entry {self._seq} but its anchor at entry {head.seq}: entries "
                  f"{self._seq + 1}..{head.seq} are missing (see `intel audit --verify`); new entries "
                  f"continue after {head.seq}", file=sys.stderr)
            self._seq, self._hash = head.seq, head.mac

    def write(self, store: Store, *, user_name: str | None, role: str | None, method: str, endpoint: str,
              path: str, status: int, subject_kind: str | None = None, subject_id: str | None = None,
              purpose: str | None = None, detail: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.write_many(store, [dict(
            user_name=user_name, role=role, method=method, endpoint=endpoint, path=path, status=status,
            subject_kind=subject_kind, subject_id=subject_id, purpose=purpose, detail=detail)])[0]

    def write_many(self, store: Store, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Append these entries, in order, in one statement (one commit): all or none. The API's
        group commit (api/audit_queue.py) hands over every entry that arrived while the last
        commit was being made, so 20 concurrent requests share a commit instead of queueing for
        twenty."""
        if not entries:
            return []
        with self._lock:
            out = self.prepare(entries)
            store_entries(store, out)
            self.advance(out)     # only once the rows are in
            return out

    def journal_many(self, journal: AuditJournal, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Append these entries to the journal (durable when this returns), not yet to the store:
        :func:`store_entries` moves them there later, in order."""
        with self._lock:
            out = self.prepare(entries)
            journal.append(out)
            self.advance(out)
            return out

    def prepare(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """These entries as stored rows (sequence, time, detail JSON, chain hashes), continuing the
        chain from the last entry written; the chain itself moves only with :meth:`advance`."""
        seq, prev = self._seq, self._hash
        out = []
        for fields in entries:
            detail = fields.get("detail")
            entry = {
                "seq": seq + 1, "logged_at": _now(), "user_name": fields.get("user_name"),
                "role": fields.get("role"), "method": fields["method"], "endpoint": fields["endpoint"],
                "path": fields["path"], "subject_kind": fields.get("subject_kind"),
                "subject_id": fields.get("subject_id"), "purpose": fields.get("purpose"),
                "status": int(fields["status"]),
                "detail": json.dumps(detail, default=str, sort_keys=True) if detail else None,
                "key_id": self.keys.current_id,
            }
            digest = entry_mac(self.keys, prev, entry)
            out.append({**entry, "prev_hash": prev, "entry_hash": digest})
            seq, prev = entry["seq"], digest
        return out

    def advance(self, stored: list[dict[str, Any]]) -> None:
        """The chain continues after these entries (prepared by :meth:`prepare`, now durable)."""
        if stored:
            self._seq, self._hash = stored[-1]["seq"], stored[-1]["entry_hash"]
            self.anchor.write(self.keys, self._seq, self._hash)

    def close(self) -> None:
        self.anchor.close()


def store_entries(store: Store, entries: list[dict[str, Any]]) -> None:
    """Prepared entries into audit_log in one statement (all or none)."""
    store.append_rows("audit_log", _COLUMNS, [tuple(e[c] for c in _COLUMNS) for e in entries])


# -- the journal: the audit log's write-ahead file -----------------------------------------------

def journal_path(store_path: str | Path) -> Path:
    """Where the server journals audit entries before they reach the store: beside it."""
    store_path = Path(store_path)
    return store_path.with_name(store_path.name + ".audit-journal")


class AuditJournal:
    """An append-only file of prepared audit entries, one JSON line each, fsync'd before a request
    is answered. The API's audit writer (api/audit_queue.py) answers once an entry is here and
    moves entries to ``audit_log`` in batches: a DuckDB commit costs ~1 ms however few rows it
    holds, which was a third of a chronology's server CPU. :func:`recover_journal` moves what a
    crash left here into the store before anything else writes to it."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fh = self.path.open("ab")

    def append(self, entries: list[dict[str, Any]]) -> None:
        lines = b"".join(_journal_line(e) for e in entries)
        self._fh.write(lines)
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def clear(self) -> None:
        """Everything in it is in the store now."""
        self._fh.truncate(0)
        self._fh.seek(0)
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        self._fh.close()


def _journal_line(entry: dict[str, Any]) -> bytes:
    return (json.dumps({**entry, "logged_at": entry["logged_at"].isoformat()}, separators=(",", ":"),
                       ensure_ascii=False) + "\n").encode("utf-8")


def recover_journal(store: Store, path: str | Path | None = None, *, keys: AuditKeys | None = None) -> int:
    """Move the entries a journal holds and ``audit_log`` does not into it (after a crash), then
    empty the journal; returns how many. A last line cut short by the crash is dropped: its
    request was never answered. Anything else that does not continue the store's chain - a
    changed line, a gap, a journal from another store - stops here with an IntelError, before
    the server writes anything."""
    path = journal_path(store.path) if path is None else Path(path)
    if not path.exists() or path.stat().st_size == 0:
        return 0
    if keys is None:
        keys = open_chain(store)[0]
    raw = path.read_bytes()
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    elif lines:
        lines.pop()               # torn: the write of its batch never finished
    last = store.rows("SELECT seq, entry_hash FROM audit_log ORDER BY seq DESC LIMIT 1")
    seq, prev = (last[0]["seq"], last[0]["entry_hash"]) if last else (0, GENESIS)
    known = {r["seq"]: r["entry_hash"] for r in store.rows(
        "SELECT seq, entry_hash FROM audit_log WHERE seq >= ? ORDER BY seq", [seq - len(lines)])}
    missing = []
    for number, line in enumerate(lines, start=1):
        try:
            entry = json.loads(line)
            entry["logged_at"] = datetime.fromisoformat(entry["logged_at"])
            sound = entry.get("key_id") is not None and \
                entry_mac(keys, entry["prev_hash"], entry) == entry["entry_hash"]
        except (ValueError, KeyError, TypeError):
            sound = False
        if not sound:
            raise IntelError(f"{path}: line {number} is not an audit entry as written; the audit log is "
                             "not changed - keep both files for investigation")
        if entry["seq"] <= seq:
            if known.get(entry["seq"]) != entry["entry_hash"]:
                raise IntelError(f"{path}: line {number} (entry {entry['seq']}) differs from the store's entry "
                                 "of that number; the audit log is not changed")
            continue
        if entry["seq"] != seq + 1 or entry["prev_hash"] != prev:
            raise IntelError(f"{path}: line {number} (entry {entry['seq']}) does not continue the audit log "
                             f"after entry {seq}; the audit log is not changed")
        missing.append(entry)
        seq, prev = entry["seq"], entry["entry_hash"]
    if missing:
        store_entries(store, missing)
    path.write_bytes(b"")
    return len(missing)


def record(store: Store, config: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    """Append one entry from a process that writes rarely (the CLI): reads the chain's end first."""
    writer = AuditWriter(store, config)
    try:
        return writer.write(store, **fields)
    finally:
        writer.close()


def _since(value: str | date | datetime | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    try:
        return datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise IntelError(f"--since must be a date or date-time (YYYY-MM-DD[THH:MM]), got {value!r}") from exc


def _aliases(store: Store, person_id: str) -> list[str]:
    """person_id, the id it now resolves to, every id merged into either, and the old form
    (before schema version 2) of each: the audit log keeps the ids it was written with."""
    person_id = parse_person_id(person_id, "--person")
    ids = {person_id}
    current = person_id
    if is_legacy(person_id):
        became = store.rows("SELECT person_id FROM person_id_aliases WHERE old_id = ?", [person_id])
        current = became[0]["person_id"] if became else person_id
    seen = set()
    while current not in seen:
        seen.add(current)
        row = store.rows("SELECT merged_into FROM persons WHERE person_id = ?", [current])
        if not row or not row[0]["merged_into"]:
            break
        current = row[0]["merged_into"]
    ids |= seen | {current}
    merged = store.rows(
        "WITH RECURSIVE a(person_id) AS (SELECT ?::VARCHAR UNION "
        "SELECT p.person_id FROM persons p JOIN a ON p.merged_into = a.person_id) SELECT person_id FROM a",
        [current])
    ids |= {r["person_id"] for r in merged}
    ids |= {r["old_id"] for r in store.rows(
        "SELECT old_id FROM person_id_aliases WHERE list_contains(?, person_id)", [sorted(ids)])}
    return sorted(ids)


def list_audit(store: Store, *, person: str | None = None, user: str | None = None,
               since: str | date | datetime | None = None, limit: int | None = None) -> dict[str, Any]:
    """Audit entries (oldest first), filtered by subject person (with its merged ids), user and
    time; with ``person``, also its person_history (every merge / split, by run or by person)."""
    where, params = [], []
    ids: list[str] = []
    if person:
        ids = _aliases(store, person)
        where.append("subject_kind = 'person' AND list_contains(?, subject_id)")
        params.append(ids)
    if user:
        where.append("user_name = ?")
        params.append(user)
    start = _since(since)
    if start is not None:
        where.append("logged_at >= ?")
        params.append(start)
    sql = ("SELECT seq, logged_at, user_name, role, method, endpoint, path, subject_kind, subject_id, purpose, "
           "status, detail FROM audit_log" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY seq")
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    out: dict[str, Any] = {"filters": {"person": person, "user": user, "since": start}, "entries": store.rows(sql, params)}
    out["count"] = len(out["entries"])
    if person:
        hist_where = ["(list_contains(?, person_id) OR list_contains(?, related_person_id))"]
        hist_params: list[Any] = [ids, ids]
        if start is not None:
            hist_where.append("happened_at >= ?")
            hist_params.append(start)
        if user:
            hist_where.append("decided_by = ?")
            hist_params.append(user)
        out["person_ids"] = ids
        out["combination_log"] = store.rows(
            "SELECT history_id, happened_at, action, person_id, related_person_id, mention_ids, run_id, decided_by, reason "
            "FROM person_history WHERE " + " AND ".join(hist_where) + " ORDER BY history_id", hist_params)
    return out
