"""Users (admin): list, add (the token is shown once), revoke."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from access.users import add_user as add, list_users, revoke_user
from api.routes.common import PageQuery, ok, page, path_id
from api.security import Principal, db, guard, set_subject
from core.store import Store

router = APIRouter(tags=["users"])


class NewUser(BaseModel):
    name: str = Field(..., min_length=1, max_length=64)
    role: Literal["analyst", "marac", "admin", "manager"]


@router.get("/users", summary="Users (tokens are never shown)")
def users(request: Request, q: Annotated[PageQuery, Query()],
          who: Principal = Depends(guard("users", personal=False)), store: Store = Depends(db)) -> Response:
    rows = list_users(store)
    return ok(page(request, rows[q.offset: q.offset + q.limit], q.limit, q.offset, len(rows)))


@router.post("/users", status_code=201, summary="Add a user; the token is in the answer, once")
def add_user(request: Request, body: NewUser, who: Principal = Depends(guard("users", personal=False)),
             store: Store = Depends(db)) -> Response:
    set_subject(request, "user", body.name, role=body.role)
    created = add(store, body.name, body.role, by=who.name, config=request.app.state.config)
    request.app.state.users.reload(store)
    return ok(created, 201)


@router.delete("/users/{name}", summary="Revoke a user's token")
def revoke(request: Request, name: str = path_id(), who: Principal = Depends(guard("users", personal=False)),
           store: Store = Depends(db)) -> Response:
    set_subject(request, "user", name)
    revoked = revoke_user(store, name, by=who.name)
    request.app.state.users.reload(store)   # the next request with that token is refused
    return ok(revoked)
