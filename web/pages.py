"""What every workspace page shares: templates, who is signed in, the purpose gate, and how an
API refusal becomes a page (404 page, sign-in, message on the form).

Routes (web/routes/) depend on :func:`signed_in` (any page) or :func:`with_purpose` (any page that
shows personal data). Both raise :class:`GoTo` (a redirect: to sign-in, then back to the page
asked for) or :class:`PageError` (an HTML error page with its status), which web/served.py
turns into responses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from web.backend import Answer, Backend
from web.sessions import COOKIE, Sessions, WebSession

PREFIX = "/w"
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))

SOURCES = {"police": "Police", "social_care": "Children's social care", "health": "Health"}
templates.env.filters["agency"] = lambda s: SOURCES.get(s, s or "")
templates.env.filters["words"] = lambda s: (s or "").replace("_", " ")


def _pct(p: float | None) -> str:
    """A probability as a percentage; one short of certain never shows as 100%."""
    if not isinstance(p, (int, float)):   # None, or not given (a result shown without its details)
        return ""
    text = f"{float(p) * 100:.2f}".rstrip("0").rstrip(".")
    if text == "100" and float(p) < 1:
        return "> 99.99%"
    return "< 0.01%" if text == "0" and float(p) > 0 else text + "%"


templates.env.filters["pct"] = _pct
templates.env.filters["day"] = lambda d: (str(d) or "")[:10] if d else ""
templates.env.filters["urlpart"] = lambda s: quote(str(s), safe="")


# every page: personal data stays out of caches; no script, frame or form target but this site's
# own (no inline script: a name in a record can never run); addresses with person ids and search
# terms are not sent on as a referrer
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                                "img-src 'self' data:; frame-ancestors 'self'; form-action 'self'; base-uri 'none'"),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


class GoTo(Exception):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


class PageError(Exception):
    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status, self.title, self.message = status, title, message


def sessions(request: Request) -> Sessions:
    return request.app.state.web_sessions


def backend(request: Request) -> Backend:
    return request.app.state.web_backend


def safe_next(url: str | None) -> str:
    """Where to go after sign-in: a workspace path of this site only (never another host)."""
    if not url:
        return f"{PREFIX}/"
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not parts.path.startswith(PREFIX + "/") or "\\" in url:
        return f"{PREFIX}/"
    return url


def _here(request: Request) -> str:
    q = request.url.query
    return request.url.path + (f"?{q}" if q else "")


async def signed_in(request: Request) -> WebSession:
    session, expired = sessions(request).get(request.cookies.get(COOKIE))
    if session is None:
        target = _here(request) if request.method == "GET" else f"{PREFIX}/"
        raise GoTo(f"{PREFIX}/signin?next={quote(target, safe='')}" + ("&expired=1" if expired else ""))
    request.state.web_session = session
    return session


async def with_purpose(request: Request) -> WebSession:
    session = await signed_in(request)
    if session.purpose is None:
        raise GoTo(f"{PREFIX}/purpose?next={quote(_here(request), safe='')}")
    return session


def rights(request: Request, session: WebSession) -> frozenset[str]:
    roles = request.app.state.config["api"]["roles"]
    return frozenset(roles.get(session.role, {}).get("rights", []))


def render(request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    session = getattr(request.state, "web_session", None)
    ctx.update(request=request, session=session, prefix=PREFIX,
               rights=rights(request, session) if session else frozenset(), sources=SOURCES)
    response = templates.TemplateResponse(request, name, ctx, status_code=status)
    response.headers.update(PAGE_HEADERS)
    return response


def error_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    return render(request, "error.html", status=status, title=title, message=message)


def check(request: Request, answer: Answer, what: str) -> Any:
    """The body of a successful answer; otherwise the page the refusal calls for."""
    if answer.ok:
        return answer.body
    if answer.status == 401:   # the token was revoked while signed in: the session is over
        session = getattr(request.state, "web_session", None)
        if session is not None:
            sessions(request).end_user(session.user)
        raise GoTo(f"{PREFIX}/signin?revoked=1")
    if answer.status == 307:   # a merged person: the same page under the surviving id
        old, new = answer.body.get("requested_id"), answer.body.get("person_id")
        raise GoTo(_here(request).replace(str(old), str(new), 1))
    if answer.status == 404:
        raise PageError(404, f"{what} not found", answer.detail)
    if answer.status == 403:
        raise PageError(403, "Not available to your role", answer.detail)
    if answer.status in (400, 409, 422):
        raise PageError(answer.status, f"{what}: not accepted", answer.detail)
    raise PageError(502 if answer.status >= 500 else answer.status, "The service could not answer", answer.detail)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


async def checked_form(request: Request, session: WebSession) -> dict[str, str]:
    """The posted form, once its CSRF token matches the session's (403 page otherwise)."""
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    if not Sessions.csrf_ok(session, form.get("csrf")):
        raise PageError(403, "Form refused",
                        "This form had no valid security token (CSRF). Open the page again and resubmit.")
    return form


def audit(request: Request, session: WebSession | None, *, action: str, status: int, user: str | None = None,
          subject_kind: str = "session", subject_id: str | None = None, **detail: Any) -> None:
    """An audit entry for what happens in the workspace itself (sign-in, purpose, sign-out, a
    'not sure' review): the pages' data reads are audited by the API they call."""
    request.app.state.audit_queue.submit(
        user_name=session.user if session else user, role=session.role if session else None, method=request.method,
        endpoint=f"web:{action}", path=request.url.path, status=status, subject_kind=subject_kind,
        subject_id=subject_id, purpose=session.purpose if session else None, detail=detail or None)
