"""The audit chain's secret and its head: the HMAC key file kept outside the store, and the anchor.

Every audit entry carries an HMAC-SHA256 of the entry before it and of its own fields, keyed by a
secret that is not in the store (``<store>.audit-key`` beside it by default, or ``[audit] key_file``):
someone who can write the store but cannot read the key cannot edit an entry and recompute the
chain after it. The key file holds one key (64 hex digits) a line; the last line is the key new
entries are written with, earlier lines are retired keys kept to verify the entries they wrote
(rotation appends a line: :func:`rotate_key`). It must be readable by its owner only: a key file
that group or others may read or write is refused.

The *anchor* (``<store>.audit-anchor`` by default, or ``[audit] anchor_file``) holds the chain's
head - the last entry's sequence number and MAC, itself MACed - so an audit log cut at its end
(rows deleted from ``audit_log``, or a journal truncated before its entries were moved in) no
longer ends where the anchor says it does. It is two fixed-size slots written in turn (a write torn
by a crash leaves the other slot whole); it is written after an entry is durable, without an
fsync of its own (a crash can leave it one batch behind, never ahead: behind is not an alarm).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import IntelError

KEY_SUFFIX = ".audit-key"
ANCHOR_SUFFIX = ".audit-anchor"
_SLOT = 256


def key_id(key: bytes) -> str:
    """A short public name of a key (recorded with each entry), not the key."""
    return hashlib.sha256(b"mash-intel audit key id:" + key).hexdigest()[:16]


def audit_paths(store_path: str | Path, config: dict[str, Any] | None = None) -> tuple[Path, Path]:
    """(key file, anchor file) of a store: ``[audit] key_file`` / ``anchor_file`` when set, else
    beside the store."""
    store_path = Path(store_path)
    section = (config or {}).get("audit", {})
    key = section.get("key_file") or store_path.with_name(store_path.name + KEY_SUFFIX)
    anchor = section.get("anchor_file") or store_path.with_name(store_path.name + ANCHOR_SUFFIX)
    return Path(key), Path(anchor)


class AuditKeys:
    """The keys of one key file: the current one (last line) and every retired one, by id."""

    def __init__(self, keys: list[bytes], path: Path) -> None:
        self.path = path
        self.by_id = {key_id(k): k for k in keys}
        self.current = keys[-1]
        self.current_id = key_id(self.current)

    def mac(self, message: str, kid: str | None = None) -> str:
        """HMAC-SHA256 of a message with the key ``kid`` (default: the current key)."""
        key = self.current if kid is None else self.by_id[kid]
        return hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def _check_mode(path: Path) -> None:
    info = path.stat()
    if not stat.S_ISREG(info.st_mode):
        raise IntelError(f"the audit key {path} is not a regular file")
    if info.st_mode & 0o077:
        raise IntelError(f"the audit key {path} may be read or written by group or others (mode "
                         f"{stat.S_IMODE(info.st_mode):04o}): only its owner may; run `chmod 600 {path}`")


def load_keys(path: Path) -> AuditKeys:
    """Read and check a key file; an IntelError says what is wrong with it."""
    if not path.exists():
        raise IntelError(f"the audit key {path} does not exist: restore it from its backup (entries written "
                         "with it cannot be verified without it), or set [audit] key_file to where it is")
    _check_mode(path)
    keys = []
    for number, line in enumerate(path.read_text(encoding="ascii", errors="replace").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            key = bytes.fromhex(line)
        except ValueError:
            key = b""
        if len(key) < 32:
            raise IntelError(f"the audit key {path}, line {number}: not a key (64 or more hex digits)")
        keys.append(key)
    if not keys:
        raise IntelError(f"the audit key {path} holds no key")
    return AuditKeys(keys, path)


def create_key(path: Path) -> AuditKeys:
    """A new key file (mode 0600, refused if one exists), with one random 256-bit key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise IntelError(f"the audit key {path} exists already") from exc
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write("# mash-intel audit chain key: keep it secret, back it up apart from the store\n")
        fh.write(secrets.token_hex(32) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return load_keys(path)


def rotate_key(keys: AuditKeys) -> AuditKeys:
    """Append a new current key to the key file (retired keys stay, to verify their entries)."""
    _check_mode(keys.path)
    with keys.path.open("a", encoding="ascii") as fh:
        fh.write(secrets.token_hex(32) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return load_keys(keys.path)


# -- the anchor --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Head:
    seq: int
    mac: str


def _anchor_message(seq: int, mac: str) -> str:
    return f"mash-intel audit anchor|{seq}|{mac}"


class Anchor:
    """The chain's head, outside the store. :meth:`read` returns the newest sound slot."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._slot = 0

    def read(self, keys: AuditKeys) -> Head | None:
        """The head the anchor holds; None if there is no anchor file. An anchor whose slots are
        neither sound (a forged or damaged file) raises IntelError."""
        if not self.path.exists():
            return None
        raw = self.path.read_bytes()
        best: tuple[Head, int] | None = None
        for slot in (0, 1):
            head = _parse_slot(raw[slot * _SLOT:(slot + 1) * _SLOT], keys)
            if head is not None and (best is None or head.seq > best[0].seq):
                best = (head, slot)
        if best is None:
            raise IntelError(f"the audit anchor {self.path} holds no head MACed with the audit key "
                             "(forged, damaged, or made with a key the key file does not hold)")
        self._slot = 1 - best[1]   # the next write keeps the newest slot whole
        return best[0]

    def write(self, keys: AuditKeys, seq: int, mac: str) -> None:
        body = json.dumps({"seq": seq, "mac": mac, "key_id": keys.current_id,
                           "check": keys.mac(_anchor_message(seq, mac))}, separators=(",", ":"))
        data = body.encode("ascii").ljust(_SLOT - 1) + b"\n"
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        os.pwrite(self._fd, data, self._slot * _SLOT)
        self._slot = 1 - self._slot

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _parse_slot(raw: bytes, keys: AuditKeys) -> Head | None:
    try:
        slot = json.loads(raw.decode("ascii").strip())
        seq, mac, kid, check = int(slot["seq"]), str(slot["mac"]), slot["key_id"], slot["check"]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return None
    if kid not in keys.by_id or not hmac.compare_digest(keys.mac(_anchor_message(seq, mac), kid), str(check)):
        return None
    return Head(seq, mac)
