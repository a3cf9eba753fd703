"""API users: a name, a role and a bearer token of which only a SHA-256 hash is stored.

``add_user`` returns the token once; it cannot be recovered later (a lost token is replaced by
:func:`rotate_user`, or by revoking the user and adding them again). A token expires
``[api] token_days`` (default 90) after it was issued; ``rotate_user`` issues a new one before
then. ``authenticate`` finds the active, unexpired user of a token, comparing hashes in constant
time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from core.errors import Conflict, IntelError, NotFound
from core.store import Store

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


RIGHTS = frozenset({"search", "person", "chronology", "network", "alerts", "decide", "explain", "runs",
                    "users", "metrics"})
# Rights whose readers show a person's records as the linkage sees them, through no lens: the
# person record (its records, weakest link), the review queue's key records and a pair's
# explanation. A role holding one must see every record, or it would read hidden ones.
UNLENSED_RIGHTS = frozenset({"person", "decide", "explain"})


def roles(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Role name -> {rights, health_clearance, domestic_abuse_only} from config [api.roles],
    checked: known rights only, and the unlensed rights only for a role that sees every record."""
    found = config.get("api", {}).get("roles", {})
    if not found:
        raise IntelError("config has no [api.roles]")
    for name, role in found.items():
        rights = role.get("rights", []) if isinstance(role, Mapping) else None
        if not isinstance(rights, list) or not all(isinstance(r, str) for r in rights):
            raise IntelError(f"config [api.roles.{name}] rights must be a list of names, got {rights!r}")
        unknown = sorted(set(rights) - RIGHTS)
        if unknown:
            raise IntelError(f"config [api.roles.{name}] rights: unknown {', '.join(unknown)} "
                             f"(known: {', '.join(sorted(RIGHTS))})")
        unlensed = sorted(set(rights) & UNLENSED_RIGHTS)
        if unlensed and (not role.get("health_clearance") or role.get("domestic_abuse_only")):
            raise IntelError(
                f"config [api.roles.{name}] rights {', '.join(unlensed)} read every record of a person "
                f"(as the linkage sees them), so they need health_clearance = true and "
                f"domestic_abuse_only = false; give this role chronology and network instead")
    return found


DEFAULT_TOKEN_DAYS = 90


def token_days(config: Mapping[str, Any] | None) -> int:
    """``[api] token_days``: how long a token works after it is issued."""
    days = (config or {}).get("api", {}).get("token_days", DEFAULT_TOKEN_DAYS)
    if not isinstance(days, int) or isinstance(days, bool) or days < 1:
        raise IntelError(f"[api] token_days must be a whole number of days, at least 1; got {days!r}")
    return days


# the expiry of a row (users issued before expiry was recorded: token_days after creation)
_EXPIRES = "coalesce(expires_at, created_at + to_days(?))"


def add_user(store: Store, name: str, role: str, *, config: Mapping[str, Any],
             by: str | None = None) -> dict[str, Any]:
    """Create a user; returns its record and, under 'token', the bearer token (shown once)."""
    name = (name or "").strip()
    if not NAME_RE.match(name):
        raise IntelError(f"user name {name!r}: use 1-64 letters, digits, '.', '_', '@' or '-'")
    known = roles(config)
    if role not in known:
        raise IntelError(f"role must be one of {', '.join(sorted(known))}; got {role!r}")
    days = token_days(config)
    token = secrets.token_urlsafe(32)
    with store.transaction():
        if store.rows("SELECT 1 FROM users WHERE name = ? AND revoked_at IS NULL", [name]):
            raise Conflict(f"user {name!r} already exists; revoke it first, or rotate its token")
        now = _now()
        expires = now + timedelta(days=days)
        store.execute("INSERT INTO users (name, role, token_sha256, created_at, created_by, expires_at) "
                      "VALUES (?, ?, ?, ?, ?, ?)", [name, role, token_hash(token), now, by, expires])
    return {"name": name, "role": role, "created_at": now, "created_by": by, "expires_at": expires, "token": token}


def rotate_user(store: Store, name: str, *, config: Mapping[str, Any],
                by: str | None = None) -> dict[str, Any]:
    """A new token for an active user (expired or not), in one transaction: the old token stops
    working now (its row is revoked 'by rotation', so the audit log still names it) and the new
    one, same name and role, works for ``token_days``. Returns the new record with 'token'."""
    days = token_days(config)
    token = secrets.token_urlsafe(32)
    with store.transaction():
        rows = store.rows("SELECT role FROM users WHERE name = ? AND revoked_at IS NULL", [name])
        if not rows:
            raise NotFound(f"no active user {name!r}")
        now = _now()
        store.execute("UPDATE users SET revoked_at = ?, revoked_by = ? WHERE name = ? AND revoked_at IS NULL",
                      [now, f"rotated by {by}" if by else "rotated", name])
        expires = now + timedelta(days=days)
        store.execute("INSERT INTO users (name, role, token_sha256, created_at, created_by, expires_at) "
                      "VALUES (?, ?, ?, ?, ?, ?)", [name, rows[0]["role"], token_hash(token), now, by, expires])
    return {"name": name, "role": rows[0]["role"], "created_at": now, "created_by": by, "expires_at": expires,
            "token": token}


def revoke_user(store: Store, name: str, *, by: str | None = None) -> dict[str, Any]:
    """Revoke a user's token at once (its row stays, so the audit log still names it)."""
    with store.transaction():
        if not store.rows("SELECT 1 FROM users WHERE name = ? AND revoked_at IS NULL", [name]):
            raise NotFound(f"no active user {name!r}")
        now = _now()
        store.execute("UPDATE users SET revoked_at = ?, revoked_by = ? WHERE name = ? AND revoked_at IS NULL",
                      [now, by, name])
    return {"name": name, "revoked_at": now, "revoked_by": by}


def list_users(store: Store, *, include_revoked: bool = True, days: int = DEFAULT_TOKEN_DAYS) -> list[dict[str, Any]]:
    where = "" if include_revoked else "WHERE revoked_at IS NULL"
    return store.rows(f"SELECT name, role, created_at, created_by, {_EXPIRES} AS expires_at, revoked_at, revoked_by "
                      f"FROM users {where} ORDER BY created_at, name", [days])


def _active(store: Store, days: int) -> list[dict[str, Any]]:
    return store.rows(f"SELECT name, role, token_sha256, {_EXPIRES} AS expires_at FROM users "
                      "WHERE revoked_at IS NULL ORDER BY name", [days])


def authenticate(store: Store, token: str | None, *, days: int = DEFAULT_TOKEN_DAYS) -> dict[str, Any] | None:
    """The active user holding ``token`` ({name, role}) if the token has not expired, or None."""
    if not token:
        return None
    digest = token_hash(token)
    now = _now()
    for row in _active(store, days):
        if hmac.compare_digest(row["token_sha256"], digest) and row["expires_at"] > now:
            return {"name": row["name"], "role": row["role"]}
    return None


class ActiveUsers:
    """The active users in memory, for a server that authenticates every request.

    Exact, not a cache that can go stale: the server is the store's one writing process, so
    users change only through its own routes, which call :meth:`reload` as soon as the change is
    committed (a revoked token is refused by the next request). ``authenticate`` compares
    hashes in constant time like :func:`authenticate`."""

    def __init__(self, store: Store, days: int = DEFAULT_TOKEN_DAYS) -> None:
        self._users: list[tuple[str, datetime, dict[str, Any]]] = []
        self._days = days
        self.reload(store)

    def reload(self, store: Store) -> None:
        self._users = [(r["token_sha256"], r["expires_at"], {"name": r["name"], "role": r["role"]})
                       for r in _active(store, self._days)]

    def authenticate(self, token: str | None) -> dict[str, Any] | None:
        """The user of an active token, or None (unknown, revoked or expired: expiry is checked
        on every request, so a token stops working at its expiry without a reload)."""
        if not token:
            return None
        digest = token_hash(token)
        found = None
        now = _now()
        for stored, expires, user in self._users:
            if hmac.compare_digest(stored, digest) and expires > now:
                found = user
        return dict(found) if found else None
