"""Sign in (with the API token ``intel users add`` printed), state the purpose, sign out; the home page."""

from __future__ import annotations

import secrets
import unicodedata
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from web.pages import PREFIX, audit, checked_form, redirect, render, rights, safe_next, sessions, signed_in
from web.sessions import COOKIE, PRE_COOKIE, WebSession

router = APIRouter()
CASE_REF_MAX, REASON_MAX = 64, 500
# the API's rights whose routes read or change personal data (the API asks X-Purpose on them)
PERSONAL_RIGHTS = frozenset({"search", "person", "chronology", "network", "alerts", "decide", "explain"})


def _cookie(request: Request, response: Response, name: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, path=PREFIX, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")


_PUNCTUATION = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-",
                              "\u2014": "-", "\u00a0": " "})


def plain(text: str) -> str:
    """The purpose as the audit log records it: it travels in an HTTP header (X-Purpose), which
    carries ASCII, so accents are folded (Zoë -> Zoe), typographic dashes and quotes made plain,
    what remains outside printable ASCII dropped, and whitespace collapsed. The page shows the
    result, so what is recorded is what the user sees."""
    folded = unicodedata.normalize("NFKD", text.translate(_PUNCTUATION)).encode("ascii", "ignore").decode()
    return " ".join("".join(c for c in folded if c.isprintable()).split())


@router.get("/signin")
async def signin_page(request: Request, next: str | None = None, expired: int = 0, revoked: int = 0,
                      signed_out: int = 0) -> Response:
    pre = secrets.token_urlsafe(24)
    notice = ("Your session expired. Sign in again to go back to the page you asked for." if expired else
              "Your token is no longer valid (revoked). Ask an administrator for a new one." if revoked else
              "You are signed out." if signed_out else None)
    response = render(request, "signin.html", next=safe_next(next), csrf=pre, notice=notice, error=None)
    _cookie(request, response, PRE_COOKIE, pre, max_age=900)
    return response


@router.post("/signin")
async def signin(request: Request) -> Response:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    target = safe_next(form.get("next"))
    sent, expected = form.get("csrf", ""), request.cookies.get(PRE_COOKIE, "")
    if not sent or not expected or not secrets.compare_digest(sent, expected):
        return render(request, "signin.html", status=403, next=target, csrf="", notice=None,
                      error="This sign-in form had no valid security token. Reload the page and try again.")
    token = form.get("token", "").strip()
    user = request.app.state.users.authenticate(token) if token else None
    if user is None:
        audit(request, None, action="signin", status=401, user=None, attempted=bool(token))
        pre = secrets.token_urlsafe(24)
        response = render(request, "signin.html", status=401, next=target, csrf=pre, notice=None,
                          error="That token was not recognised (empty, mistyped or revoked).")
        _cookie(request, response, PRE_COOKIE, pre, max_age=900)
        return response
    session = sessions(request).create(user["name"], user["role"], token)
    audit(request, session, action="signin", status=200)
    if rights(request, session) & PERSONAL_RIGHTS:   # the purpose first, for a role that reads personal data
        target = f"{PREFIX}/purpose?next={quote(target, safe='')}"
    response = redirect(target)
    _cookie(request, response, COOKIE, session.sid)
    response.delete_cookie(PRE_COOKIE, path=PREFIX)
    return response


@router.post("/signout")
async def signout(request: Request, session: WebSession = Depends(signed_in)) -> Response:
    await checked_form(request, session)
    audit(request, session, action="signout", status=200)
    sessions(request).end(session.sid)
    response = redirect(f"{PREFIX}/signin?signed_out=1")
    response.delete_cookie(COOKIE, path=PREFIX)
    return response


@router.get("/purpose")
async def purpose_page(request: Request, next: str | None = None,
                       session: WebSession = Depends(signed_in)) -> Response:
    return render(request, "purpose.html", next=safe_next(next), errors={},
                  case_ref=session.case_ref or "", reason=session.reason or "")


@router.post("/purpose")
async def purpose(request: Request, session: WebSession = Depends(signed_in)) -> Response:
    form = await checked_form(request, session)
    case_ref, reason = plain(form.get("case_ref", "")), plain(form.get("reason", ""))
    errors = {}
    if not case_ref:
        errors["case_ref"] = "Give the case reference this work is for (e.g. MASH-2026-0142)."
    elif len(case_ref) > CASE_REF_MAX:
        errors["case_ref"] = f"A case reference is at most {CASE_REF_MAX} characters."
    minimum = int(request.app.state.config["api"].get("min_purpose_length", 4))
    if len(reason) < max(minimum, 10):
        errors["reason"] = "Say why you need this, in a few words (at least 10 characters)."
    elif len(reason) > REASON_MAX:
        errors["reason"] = f"The reason is at most {REASON_MAX} characters."
    target = safe_next(form.get("next"))
    if errors:
        return render(request, "purpose.html", status=400, next=target, errors=errors, case_ref=case_ref,
                      reason=reason)
    session.case_ref, session.reason = case_ref, reason
    audit(request, session, action="purpose", status=200)
    return redirect(target)


@router.get("/")
async def home(request: Request, session: WebSession = Depends(signed_in)) -> Response:
    """What this role may open (no personal data here: the purpose is asked by the pages that show it)."""
    return render(request, "home.html")
