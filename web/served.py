"""The application ``intel serve`` runs: the API with the workspace mounted on it, in one place.

:func:`served_app` is what the CLI (and any test that walks every route of the served
application) builds; :func:`mount` adds the workspace to an API application already made.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from api.app import create_app
from web.backend import Backend
from web.pages import PREFIX, GoTo, PageError, error_page
from web.routes import ROUTERS
from web.sessions import Sessions


def mount(app: FastAPI) -> FastAPI:
    """Add the workspace's pages, its static files and its error pages to ``app`` (the API)."""
    cfg = app.state.config.get("web", {})
    app.state.web_sessions = Sessions(idle_minutes=float(cfg.get("idle_minutes", 30)),
                                      max_hours=float(cfg.get("max_hours", 10)))
    app.state.web_backend = Backend(app)
    for router in ROUTERS:   # one route each on the app (not an included router): what walks app.routes sees them
        for route in router.routes:
            app.add_api_route(PREFIX + route.path, route.endpoint, methods=sorted(route.methods),
                              include_in_schema=False, name=route.name)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=Path(__file__).parent / "static"), name="web-static")

    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/", status_code=303)

    @app.get(PREFIX + "/{rest:path}", include_in_schema=False)   # after every page: what none of them is
    async def no_such_page(request: Request, rest: str):
        return error_page(request, 404, "No such page", f"There is no workspace page at {PREFIX}/{rest[:80]}.")

    @app.exception_handler(GoTo)
    async def go_to(request: Request, exc: GoTo) -> RedirectResponse:
        return RedirectResponse(exc.url, status_code=303)

    @app.exception_handler(PageError)
    async def page_error(request: Request, exc: PageError):
        return error_page(request, exc.status, exc.title, exc.message)

    return app


def served_app(db_path: str | Path | None = None, **kw: Any) -> FastAPI:
    """The API (``api.app.create_app(db_path, **kw)``) with the workspace mounted: one process,
    one store, one snapshot, the same roles, lens and audit."""
    return mount(create_app(db_path, **kw))
