"""Workspace sessions: who is signed in, what purpose they stated, and the CSRF token of their forms.

A session lives in server memory only (the cookie carries a random id, never the token): it holds
the user's API token so that each page can ask the API as that user. It ends when the user signs
out, after ``idle_minutes`` without a request, or ``max_hours`` after sign-in, whichever comes
first; a server restart ends every session (people sign in again). Each session has its own CSRF
token, sent in a hidden field of every form that changes anything and compared in constant time.
One-time form ids make a double-submitted form act once.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

COOKIE = "mi_session"
PRE_COOKIE = "mi_signin"   # the sign-in form's CSRF value, before there is a session


@dataclass
class WebSession:
    sid: str
    user: str
    role: str
    token: str
    csrf: str
    created: float
    seen: float
    case_ref: str | None = None
    reason: str | None = None
    used_forms: set[str] = field(default_factory=set)

    @property
    def purpose(self) -> str | None:
        """The purpose as the API's X-Purpose carries it (recorded with every request)."""
        if not self.case_ref or not self.reason:
            return None
        return f"{self.case_ref}: {self.reason}"


class Sessions:
    """The open sessions of this server process."""

    def __init__(self, idle_minutes: float = 30, max_hours: float = 10, clock: Any = time.time) -> None:
        self.idle_s, self.max_s, self.clock = idle_minutes * 60, max_hours * 3600, clock
        self._lock = threading.Lock()
        self._open: dict[str, WebSession] = {}

    def create(self, user: str, role: str, token: str) -> WebSession:
        now = self.clock()
        s = WebSession(secrets.token_urlsafe(32), user, role, token, secrets.token_urlsafe(32), now, now)
        with self._lock:
            self._drop_expired(now)
            self._open[s.sid] = s
        return s

    def get(self, sid: str | None) -> tuple[WebSession | None, bool]:
        """(the live session, False), or (None, True) when the id named one that has expired."""
        if not sid:
            return None, False
        now = self.clock()
        with self._lock:
            s = self._open.get(sid)
            if s is None:
                return None, False
            if now - s.seen > self.idle_s or now - s.created > self.max_s:
                del self._open[sid]
                return None, True
            s.seen = now
            return s, False

    def end(self, sid: str | None) -> None:
        with self._lock:
            self._open.pop(sid or "", None)

    def end_user(self, user: str) -> None:
        """End every session of ``user`` (their token was refused: revoked)."""
        with self._lock:
            for sid in [k for k, s in self._open.items() if s.user == user]:
                del self._open[sid]

    def _drop_expired(self, now: float) -> None:
        for sid in [k for k, s in self._open.items() if now - s.seen > self.idle_s or now - s.created > self.max_s]:
            del self._open[sid]

    @staticmethod
    def csrf_ok(session: WebSession, sent: str | None) -> bool:
        return bool(sent) and secrets.compare_digest(session.csrf, sent)

    def first_use(self, session: WebSession, form_id: str | None) -> bool:
        """True the first time a one-time form id is used in this session, False after."""
        if not form_id:
            return True
        with self._lock:
            if form_id in session.used_forms:
                return False
            session.used_forms.add(form_id)
            return True


def new_form_id() -> str:
    return secrets.token_urlsafe(12)
