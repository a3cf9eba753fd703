"""The keyed audit chain: each way an insider with write access to the store could try to hide a
read is found and named by verify; the key file is checked; rotation keeps old entries verifiable."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pytest

from access.audit_chain import audit_paths, load_keys
from access.audit_verify import verify
from access.audit import GENESIS, AuditJournal, AuditWriter, journal_path, _FIELDS
from core.errors import IntelError
from core.store import Store

ENTRY = dict(user_name="alice", role="marac", method="GET", endpoint="/persons/{person_id}/chronology",
             path="/persons/MI-00000001B/chronology", status=200, subject_kind="person", subject_id="MI-00000001B",
             purpose="MARAC 12 May")


def _log(store, n=6):
    w = AuditWriter(store)
    w.write_many(store, [dict(ENTRY, path=f"/p/{i}") for i in range(n)])
    w.close()
    return w


def _kinds(out):
    return [(p["kind"], p["first"], p["last"]) for p in out.get("problems", [])]


def test_a_new_store_gets_an_owner_only_key_and_an_anchor_and_verifies(store):
    _log(store)
    key, anchor = audit_paths(store.path)
    assert oct(key.stat().st_mode & 0o777) == "0o600" and anchor.exists()
    assert verify(store) == {"ok": True, "entries": 6}
    assert {r["key_id"] for r in store.rows("SELECT key_id FROM audit_log")} == {load_keys(key).current_id}


def test_a_key_others_may_read_or_a_lost_key_is_refused_before_anything_is_written(store):
    _log(store, 2)
    key, _ = audit_paths(store.path)
    before = store.content_digest()
    os.chmod(key, 0o640)
    with pytest.raises(IntelError, match=r"group or others \(mode 0640\).*chmod 600"):
        AuditWriter(store)
    assert verify(store)["problems"][0]["kind"] == "key_missing"
    os.chmod(key, 0o600)
    key.rename(key.with_name("elsewhere"))
    with pytest.raises(IntelError, match="does not exist: restore it"):
        AuditWriter(store)                      # never a new key for a log that has entries
    assert store.content_digest() == before


def test_a_changed_entry_is_named(store):
    _log(store)
    store.execute("UPDATE audit_log SET subject_id = 'MI-00000999L' WHERE seq = 3")
    out = verify(store)
    assert not out["ok"] and _kinds(out) == [("changed_entry", 3, 3)] and out["entries"] == 5


def test_a_deleted_middle_entry_is_named(store):
    _log(store)
    store.execute("DELETE FROM audit_log WHERE seq = 4")
    assert _kinds(verify(store)) == [("deleted_entries", 4, 4)]
    # renumbering the rest to close the gap breaks their MACs (the sequence is MACed)
    store.execute("UPDATE audit_log SET seq = seq - 1 WHERE seq > 4")
    assert [k for k, *_ in _kinds(verify(store))] == ["rewritten", "missing_tail"]


def test_a_tail_cut_from_the_table_is_found_and_a_restarted_writer_keeps_the_gap(store):
    _log(store)
    store.execute("DELETE FROM audit_log WHERE seq >= 5")
    out = verify(store)
    assert _kinds(out) == [("missing_tail", 5, 6)] and "anchor" in out["why"]
    w = AuditWriter(store)                       # a server started on the cut log
    assert w.write(store, **ENTRY)["seq"] == 7   # continues after the anchor: the cut stays visible
    assert _kinds(verify(store)) == [("deleted_entries", 5, 6)]


def test_a_log_wiped_with_its_anchor_is_found_and_a_new_store_is_sound(store, tmp_path):
    """The anchor is made with the key (at entry 0), so an empty log without one is a wipe."""
    with Store(tmp_path / "new.duckdb") as fresh:
        AuditWriter(fresh).close()          # what `intel init` does: key and anchor, no entry
        assert audit_paths(fresh.path)[1].exists()
        assert verify(fresh) == {"ok": True, "entries": 0}
        fresh.execute("DELETE FROM audit_log")   # nothing to hide yet: still sound
        assert verify(fresh)["ok"]
    _log(store)
    store.execute("DELETE FROM audit_log")
    assert _kinds(verify(store)) == [("missing_tail", 1, 6)]
    audit_paths(store.path)[1].unlink()     # and the anchor with it
    out = verify(store)
    assert not out["ok"] and _kinds(out) == [("anchor_missing", None, None)] and "wiped" in out["why"]


def test_a_journal_cut_before_its_entries_were_moved_in_is_found(store):
    w = _log(store, 2)
    journal = AuditJournal(journal_path(store.path))
    w.journal_many(journal, [dict(ENTRY, path=f"/j/{i}") for i in range(3)])   # answered, not moved in
    journal.close()
    lines = journal_path(store.path).read_bytes().splitlines(keepends=True)
    journal_path(store.path).write_bytes(lines[0])           # the last two lines cut
    AuditWriter(store).close()                               # the next start moves in what is left
    assert store.scalar("SELECT max(seq) FROM audit_log") == 3
    assert _kinds(verify(store)) == [("missing_tail", 4, 5)]


@pytest.mark.parametrize("unkeyed", [False, True])
def test_a_rewrite_with_recomputed_hashes_without_the_key_is_found(store, unkeyed):
    """The attacker edits entry 3 and recomputes every later hash the way the old unkeyed chain
    did (SHA-256), keeping the key ids or dropping them, and even rewrites the anchor's mac."""
    _log(store)
    rows = store.rows("SELECT * FROM audit_log ORDER BY seq")
    prev = rows[1]["entry_hash"]
    for row in rows[2:]:
        if row["seq"] == 3:
            row["subject_id"] = "MI-00000999L"
        values = [row[f].isoformat() if hasattr(row[f], "isoformat") else row[f] for f in _FIELDS]
        kid = None if unkeyed else row["key_id"]
        body = json.dumps(values if unkeyed else [*values, kid], separators=(",", ":"), ensure_ascii=False)
        digest = hashlib.sha256((prev + body).encode()).hexdigest()
        store.execute("UPDATE audit_log SET subject_id = ?, key_id = ?, prev_hash = ?, entry_hash = ? WHERE seq = ?",
                      [row["subject_id"], kid, prev, digest, row["seq"]])
        prev = digest
    out = verify(store)
    assert ("rewritten", 3, 6) in _kinds(out) and not out["ok"]
    assert "without the key" in out["why"]


def test_another_key_file_is_a_key_mismatch(store, tmp_path):
    _log(store)
    key, _ = audit_paths(store.path)
    other = Store(tmp_path / "other.duckdb")
    _log(other)
    other.close()
    key.write_bytes(audit_paths(other.path)[0].read_bytes())
    out = verify(store)
    kinds = [k for k, *_ in _kinds(out)]
    assert ("key_mismatch", 1, 6) in _kinds(out) and "anchor_forged" in kinds


def test_an_anchor_slot_torn_by_a_crash_falls_back_to_the_other(store):
    _log(store, 1)
    w = AuditWriter(store)
    w.write(store, **ENTRY)
    w.close()
    _, anchor = audit_paths(store.path)
    raw = bytearray(anchor.read_bytes())
    newest = 0 if b'"seq":2' in raw[:256] else 1
    raw[newest * 256:newest * 256 + 40] = b"\0" * 40
    anchor.write_bytes(bytes(raw))
    out = verify(store)                     # the other slot (entry 1) is sound: behind, not an alarm
    assert out["ok"] and "behind" in out["notes"][0]


def test_rotation_keeps_old_entries_verifiable_and_is_itself_logged(tmp_path):
    db = tmp_path / "s.duckdb"
    with Store(db) as s:
        _log(s, 2)
    cli = [sys.executable, "-m", "intel.cli"]
    done = subprocess.run([*cli, "audit", "rotate-key", "--db", str(db)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    rotated = json.loads(done.stdout)
    assert rotated["entry"] == 3 and rotated["key_id"] != rotated["retired_key_id"]
    with Store(db) as s:
        _log(s, 1)
        ids = [r["key_id"] for r in s.rows("SELECT key_id FROM audit_log ORDER BY seq")]
        assert ids == [rotated["retired_key_id"]] * 2 + [rotated["key_id"]] * 2
        assert verify(s) == {"ok": True, "entries": 4}
        s.execute("UPDATE audit_log SET status = 500 WHERE seq = 1")   # an old-key entry is checked too
    bad = subprocess.run([*cli, "audit", "--verify", "--db", str(db)], capture_output=True, text=True)
    assert bad.returncode == 1 and "entry 1 was changed" in bad.stderr
    assert json.loads(bad.stdout)["chain"]["problems"][0]["kind"] == "changed_entry"


def test_legacy_unkeyed_entries_are_a_note_and_the_keyed_chain_continues_after_them(store):
    from datetime import datetime

    prev = GENESIS
    for seq in (1, 2):
        row = dict(ENTRY, seq=seq, logged_at=datetime(2026, 1, seq), detail=None)
        values = [row[f].isoformat() if hasattr(row[f], "isoformat") else row[f] for f in _FIELDS]
        digest = hashlib.sha256((prev + json.dumps(values, separators=(",", ":"), ensure_ascii=False)).encode()).hexdigest()
        store.execute("INSERT INTO audit_log (seq, logged_at, user_name, role, method, endpoint, path, subject_kind, "
                      "subject_id, purpose, status, detail, prev_hash, entry_hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                      [*values[:1], row["logged_at"], *values[2:], prev, digest])
        prev = digest
    _, anchor = audit_paths(store.path)
    with pytest.raises(IntelError, match="does not exist"):
        AuditWriter(store)          # a store with entries gets no new key by itself ...
    from access.audit_chain import create_key
    create_key(audit_paths(store.path)[0])   # ... the operator makes one (docs/audit.md)
    _log(store, 2)
    out = verify(store)
    assert out["ok"] and out["entries"] == 4 and "predate the keyed chain" in out["notes"][0]
