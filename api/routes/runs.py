"""Nightly runs (admin): start one on a drop folder, list them, read one's report (its paths
relative to the drops folder or the store's folder, never the server's: findings/run_reports.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api.routes.common import PageQuery, ok, page, path_id
from api.security import Principal, db, guard, set_subject
from core.errors import NotFound
from core.store import Store
from findings.run_reports import RunPaths, shown
from findings.runs import get_run, list_runs

router = APIRouter(tags=["runs"])


class RunRequest(BaseModel):
    drop_dir: str = Field(..., min_length=1, max_length=4096, description=(
        "The name of a drop folder in the server's drops folder ([api] drops_folder; default drops/ beside "
        "the store). Nothing outside it is read, links out of it are not followed."))


@router.post("/runs", status_code=202, summary="Start a nightly run on a drop folder")
def start_run(request: Request, body: RunRequest, who: Principal = Depends(guard("runs")),
              store: Store = Depends(db)) -> Response:
    set_subject(request, "run", None, drop_dir=body.drop_dir)
    run_id = request.app.state.runs.start(body.drop_dir, who.name)
    set_subject(request, "run", run_id)
    return ok({"run_id": run_id, "status": "running", "href": f"/runs/{run_id}"}, 202,
              headers={"Location": f"/runs/{run_id}"})


@router.get("/runs", summary="Runs, newest first")
def runs(request: Request, q: Annotated[PageQuery, Query()],
         who: Principal = Depends(guard("runs", personal=False)), store: Store = Depends(db)) -> Response:
    rows = list_runs(store, limit=q.offset + q.limit + 1)[q.offset:]
    return ok(page(request, shown(rows[: q.limit], _paths(request)), q.limit, q.offset, None,
                   more=len(rows) > q.limit))


@router.get("/runs/{run_id}", summary="A run's status and report")
def run(request: Request, run_id: str = path_id(), who: Principal = Depends(guard("runs", personal=False)),
        store: Store = Depends(db)) -> Response:
    set_subject(request, "run", run_id)
    try:
        return ok(shown(get_run(store, run_id), _paths(request)))
    except NotFound:
        if run_id == request.app.state.runs.current_run:
            return ok({"run_id": run_id, "status": "starting"})
        raise


def _paths(request: Request) -> RunPaths:
    return RunPaths(request.app.state.store.path, request.app.state.config)
