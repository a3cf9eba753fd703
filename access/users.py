"""API users: a name, a role and a bearer token of which only a SHA-256 hash is stored.

``add_user`` returns the token once; it cannot be recovered later (a lost token is replaced by
revoking the user and adding them again). ``authenticate`` finds the active user of a token,
comparing hashes in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime
from collections.abc import Mapping
from typing import Any

from core.errors import Conflict, IntelError, NotFound
from core.store import Store

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def roles(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Role name -> {rights, health_clearance, domestic_abuse_only} from config [api.roles]."""
    found = config.get("api", {}).get("roles", {})
    if not found:
        raise IntelError("config has no [api.roles]")
    return found


def add_user(store: Store, name: str, role: str, *, config: Mapping[str, Any],
             by: str | None = None) -> dict[str, Any]:
    """Create a user; returns its record and, under 'token', the bearer token (shown once)."""
    name = (name or "").strip()
    if not NAME_RE.match(name):
        raise IntelError(f"user name {name!r}: use 1-64 letters, digits, '.', '_', '@' or '-'")
    known = roles(config)
    if role not in known:
        raise IntelError(f"role must be one of {', '.join(sorted(known))}; got {role!r}")
    token = secrets.token_urlsafe(32)
    with store.transaction():
        if store.rows("SELECT 1 FROM users WHERE name = ? AND revoked_at IS NULL", [name]):
            raise Conflict(f"user {name!r} already exists; revoke it first to issue a new token")
        now = _now()
        store.execute("INSERT INTO users VALUES (?, ?, ?, ?, ?, NULL, NULL)",
                      [name, role, token_hash(token), now, by])
    return {"name": name, "role": role, "created_at": now, "created_by": by, "token": token}


def revoke_user(store: Store, name: str, *, by: str | None = None) -> dict[str, Any]:
    """Revoke a user's token at once (its row stays, so the audit log still names it)."""
    with store.transaction():
        if not store.rows("SELECT 1 FROM users WHERE name = ? AND revoked_at IS NULL", [name]):
            raise NotFound(f"no active user {name!r}")
        now = _now()
        store.execute("UPDATE users SET revoked_at = ?, revoked_by = ? WHERE name = ? AND revoked_at IS NULL",
                      [now, by, name])
    return {"name": name, "revoked_at": now, "revoked_by": by}


def list_users(store: Store, *, include_revoked: bool = True) -> list[dict[str, Any]]:
    where = "" if include_revoked else "WHERE revoked_at IS NULL"
    return store.rows(f"SELECT name, role, created_at, created_by, revoked_at, revoked_by FROM users {where} "
                      "ORDER BY created_at, name")


def authenticate(store: Store, token: str | None) -> dict[str, Any] | None:
    """The active user holding ``token`` ({name, role}), or None."""
    if not token:
        return None
    digest = token_hash(token)
    for row in store.rows("SELECT name, role, token_sha256 FROM users WHERE revoked_at IS NULL"):
        if hmac.compare_digest(row["token_sha256"], digest):
            return {"name": row["name"], "role": row["role"]}
    return None


class ActiveUsers:
    """The active users in memory, for a server that authenticates every request.

    Exact, not a cache that can go stale: the server is the store's one writing process, so
    users change only through its own routes, which call :meth:`reload` as soon as the change is
    committed (a revoked token is refused by the next request). ``authenticate`` compares
    hashes in constant time like :func:`authenticate`."""

    def __init__(self, store: Store) -> None:
        self._users: list[tuple[str, dict[str, Any]]] = []
        self.reload(store)

    def reload(self, store: Store) -> None:
        self._users = [(r["token_sha256"], {"name": r["name"], "role": r["role"]}) for r in store.rows(
            "SELECT name, role, token_sha256 FROM users WHERE revoked_at IS NULL ORDER BY name")]

    def authenticate(self, token: str | None) -> dict[str, Any] | None:
        if not token:
            return None
        digest = token_hash(token)
        found = None
        for stored, user in self._users:
            if hmac.compare_digest(stored, digest):
                found = user
        return dict(found) if found else None
