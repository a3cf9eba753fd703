"""Checking the audit chain: what exactly is wrong with an audit log, if anything.

:func:`verify` reads ``audit_log`` in sequence order and checks each entry's MAC under the key
its ``key_id`` names (access/audit_chain.py), that it follows the entry before it, and that the
log ends where the anchor says it does. Each problem is reported with its kind and the entries
it covers:

- ``changed_entry``: one entry's MAC does not verify (a field edited in place);
- ``rewritten``: a run of entries that chain to each other but whose MACs do not verify (edited
  and re-hashed without the key), or unkeyed entries after keyed ones;
- ``deleted_entries``: a gap in the sequence (entries removed from the middle);
- ``broken_link``: an entry that does not follow the one before it (reordered or spliced);
- ``duplicate_entry``: a sequence number seen twice;
- ``missing_tail``: the anchor's head is past the log's end (rows deleted from the end of
  ``audit_log``, or a journal cut before its entries were moved in);
- ``anchor_mismatch``: the log's entry at the anchor's head is not the entry the anchor names;
- ``key_mismatch``: entries MACed with a key the key file does not hold (another key file);
- ``key_missing`` / ``anchor_missing`` / ``anchor_forged``: what cannot be checked, and why.
"""

from __future__ import annotations

import hmac
from typing import Any

from access.audit_chain import Anchor, AuditKeys, audit_paths, load_keys
from access.audit import GENESIS, entry_mac
from core.errors import IntelError
from core.store import Store


def _problem(kind: str, first: int | None, last: int | None, why: str) -> dict[str, Any]:
    return {"kind": kind, "first": first, "last": last, "why": why}


def _span(first: int, last: int) -> str:
    return f"entry {first}" if first == last else f"entries {first}..{last}"


def _are(first: int, last: int) -> str:
    """``entry 5 is`` / ``entries 5..7 are``."""
    return _span(first, last) + (" is" if first == last else " are")


def _entry_state(keys: AuditKeys | None, row: dict[str, Any]) -> str:
    """ok, bad (MAC does not verify), unknown_key, unchecked (no key file) or legacy_ok / legacy_bad."""
    kid = row.get("key_id")
    if kid is None:
        return "legacy_ok" if entry_mac(None, row["prev_hash"], row) == row["entry_hash"] else "legacy_bad"
    if keys is None:
        return "unchecked"
    if kid not in keys.by_id:
        return "unknown_key"
    return "ok" if hmac.compare_digest(entry_mac(keys, row["prev_hash"], row), row["entry_hash"]) else "bad"


def _runs(rows: list[dict[str, Any]], states: list[str], wanted: set[str]) -> list[tuple[int, int]]:
    """(first index, last index) of each run of consecutive rows whose state is wanted."""
    out: list[tuple[int, int]] = []
    start = None
    for i, state in enumerate([*states, "end"]):
        if state in wanted and start is None:
            start = i
        elif state not in wanted and start is not None:
            out.append((start, i - 1))
            start = None
    return out


def verify(store: Store, config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Check the whole chain against the key file and the anchor; ``ok`` only if nothing is wrong.

    ``{"ok": True, "entries": N}`` when sound (``notes`` added where something is worth knowing
    but not wrong); otherwise ``problems`` (each with kind, first and last entry, and why) and,
    for the first of them, ``broken_at`` and ``why``.
    """
    key_file, anchor_file = audit_paths(store.path, config)
    problems: list[dict[str, Any]] = []
    notes: list[str] = []
    keys: AuditKeys | None
    try:
        keys = load_keys(key_file)
    except IntelError as exc:
        keys = None
        problems.append(_problem("key_missing", None, None, f"{exc}; entries' MACs and the anchor were not checked"))
    rows = store.rows("SELECT * FROM audit_log ORDER BY seq")
    states = [_entry_state(keys, r) for r in rows]

    first_keyed = next((i for i, r in enumerate(rows) if r.get("key_id") is not None), len(rows))
    for i in range(first_keyed, len(rows)):       # unkeyed after keyed: written without the key
        if states[i].startswith("legacy"):
            states[i] = "bad"
    if first_keyed:
        legacy_bad = [rows[i]["seq"] for i in range(first_keyed) if states[i] == "legacy_bad"]
        notes.append(f"{_span(rows[0]['seq'], rows[first_keyed - 1]['seq'])} predate{'s' if first_keyed == 1 else ''} the keyed chain "
                     "(plain SHA-256: whoever can write the store could have rewritten them)")
        for seq in legacy_bad:
            problems.append(_problem("changed_entry", seq, seq, f"entry {seq} does not match its (unkeyed) hash"))

    for a, b in _runs(rows, states, {"unknown_key"}):
        kids = sorted({rows[i]["key_id"] for i in range(a, b + 1)})
        problems.append(_problem(
            "key_mismatch", rows[a]["seq"], rows[b]["seq"],
            f"{_span(rows[a]['seq'], rows[b]['seq'])} {'was' if a == b else 'were'} MACed with key {', '.join(kids)}, "
            f"which the key file "
            f"{key_file} does not hold (another store's key file, or a key removed from it)"))
    for a, b in _runs(rows, states, {"bad"}):
        if a == b:
            problems.append(_problem("changed_entry", rows[a]["seq"], rows[a]["seq"],
                                     f"entry {rows[a]['seq']} was changed: its MAC does not verify"))
        else:
            problems.append(_problem(
                "rewritten", rows[a]["seq"], rows[b]["seq"],
                f"{_span(rows[a]['seq'], rows[b]['seq'])} do not verify under the audit key: changed, and the "
                "chain after them recomputed without the key"))

    prev_seq, prev_mac, prev_state = 0, GENESIS, "ok"
    for row, state in zip(rows, states):
        seq = row["seq"]
        if seq <= prev_seq:
            problems.append(_problem("duplicate_entry", seq, seq, f"entry {seq} appears after entry {prev_seq}: "
                                     "a sequence number written twice or out of order"))
        elif seq != prev_seq + 1:
            problems.append(_problem("deleted_entries", prev_seq + 1, seq - 1,
                                     f"{_are(prev_seq + 1, seq - 1)} missing from the middle of the log"))
        elif row["prev_hash"] != prev_mac and "bad" not in (state, prev_state) \
                and "unknown_key" not in (state, prev_state):
            problems.append(_problem("broken_link", seq, seq,
                                     f"entry {seq} does not follow entry {prev_seq}: it was written after "
                                     "another entry (entries reordered or spliced in)"))
        prev_seq, prev_mac, prev_state = max(seq, prev_seq), row["entry_hash"], state

    if keys is not None:
        _check_anchor(Anchor(anchor_file), keys, rows, first_keyed, problems, notes)
    problems.sort(key=lambda p: (p["first"] is not None, p["first"] or 0))
    verified = sum(s in ("ok", "legacy_ok") for s in states)
    out: dict[str, Any] = {"ok": not problems, "entries": verified}
    if problems:
        out.update(broken_at=problems[0]["first"], why=problems[0]["why"], problems=problems)
    if notes:
        out["notes"] = notes
    return out


def _check_anchor(anchor: Anchor, keys: AuditKeys, rows: list[dict[str, Any]], first_keyed: int,
                  problems: list[dict[str, Any]], notes: list[str]) -> None:
    try:
        head = anchor.read(keys)
    except IntelError as exc:
        problems.append(_problem("anchor_forged", None, None, str(exc)))
        return
    last = rows[-1]["seq"] if rows else 0
    if head is None:
        if first_keyed < len(rows):
            problems.append(_problem("anchor_missing", None, None,
                                     f"the audit anchor {anchor.path} is missing: whether entries were cut from "
                                     "the end of the log cannot be checked"))
        elif rows:
            notes.append("no anchor yet: it is written with the first keyed entry")
        else:   # the key exists, so the chain was started: its anchor was made with the key
            problems.append(_problem(
                "anchor_missing", None, None,
                f"the audit log is empty and its anchor {anchor.path} is missing, but the audit key exists: "
                "the log may have been wiped together with its anchor (the anchor is made with the key; only a "
                "store made before that, which has logged nothing since, looks the same)"))
        return
    if head.seq > last:
        problems.append(_problem(
            "missing_tail", last + 1, head.seq,
            f"{_are(last + 1, head.seq)} missing from the end of the log: the anchor's head is entry "
            f"{head.seq}, but neither audit_log nor the journal holds anything after entry {last}"))
        return
    at = next((r for r in rows if r["seq"] == head.seq), None)
    if head.seq == 0 and head.mac == GENESIS:   # the chain's start, written with the key
        at = {"entry_hash": GENESIS}
    if at is None or at["entry_hash"] != head.mac:
        problems.append(_problem("anchor_mismatch", head.seq, head.seq,
                                 f"the log's entry {head.seq} is not the entry the anchor names as the head "
                                 "(the log was rewritten, or the anchor is another store's)"))
    elif head.seq < last:
        notes.append(f"the anchor is at entry {head.seq}, the log at entry {last}: a crash left the anchor "
                     "behind (it moves with the next write)")
