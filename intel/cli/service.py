"""The service: ``intel serve`` and ``intel users`` (the audit log: intel/cli/audit.py)."""

from __future__ import annotations

import sys
from typing import Annotated, Any, Optional

import typer
import uvicorn

from access.audit import record
from access.users import add_user, list_users, revoke_user, rotate_user
from core.config import Config
from core.errors import IntelError
from core.store import Store, StoreError
from intel.cli.common import ConfigOption, DbOption, cli_actor, edge_config, emit, fail, opened_store
from web import served_app

app = typer.Typer()


@app.command()
def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    config: ConfigOption = None,
) -> None:
    """Serve the analysts' web workspace (at /) and the HTTP API (OpenAPI docs at /docs) from one
    process. The server holds the store while it runs: start nightly runs with POST /runs and
    manage users with /users while it does."""
    cfg = edge_config(config)
    try:
        application = served_app(db, config=cfg)
    except (IntelError, StoreError) as exc:
        fail(str(exc))
    application.state.review_queue.build_later()   # ranked in the background: the first review page finds it ready
    application.state.alert_queue.build_later()    # read in the background: SQL answers the alerts until then
    typer.echo(f"serving {application.state.store.path} on http://{host}:{port} (workspace: /, docs: /docs)",
               err=True)
    # no Server header (what software runs here is nobody's business), and X-Forwarded-* not
    # read: no client address is used or logged, and not parsing them is a little less per request
    uvicorn.run(application, host=host, port=port, workers=1, log_level="warning", server_header=False,
                proxy_headers=False)
    # a review-queue build still running reads the store through its own session: let it end
    # before the store is closed (closing under it raised ResourceInUse about one start in two)
    application.state.review_queue.wait()
    application.state.alert_queue.stop()
    application.state.audit_queue.close()   # the last entries are committed before exit


users_app = typer.Typer(help="API users: add or rotate (prints a token), revoke, list.", no_args_is_help=True)
app.add_typer(users_app, name="users")


def _cli_audit(store: Store, cfg: Config, command: str, subject: str, detail: dict[str, Any]) -> None:
    record(store, cfg, user_name=cli_actor(), role="cli", method="CLI", endpoint=command, path=command,
           status=200, subject_kind="user", subject_id=subject, detail=detail)


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="The user's name (letters, digits, . _ @ -).")],
    role: Annotated[str, typer.Option("--role", help="analyst, marac or admin.")],
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Create a user. Prints the user as a JSON object, then the new bearer token alone on the LAST
    line (shown once: only its SHA-256 is stored)."""
    cfg = edge_config(config)
    with opened_store(db) as store:
        created = add_user(store, name, role, by=cli_actor(), config=cfg)
        _cli_audit(store, cfg, "intel users add", created["name"], {"role": role})
    token = created.pop("token")
    emit(created)
    sys.stdout.write(token + "\n")


@users_app.command("rotate")
def users_rotate(
    name: Annotated[str, typer.Argument(help="The user whose token is replaced.")],
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Issue a new token for a user (before or after the old one expires: [api] token_days, default 90);
    the old token stops working now. Prints the user as JSON, then the new token alone on the LAST line."""
    cfg = edge_config(config)
    with opened_store(db) as store:
        rotated = rotate_user(store, name, by=cli_actor(), config=cfg)
        _cli_audit(store, cfg, "intel users rotate", name, {"expires_at": rotated["expires_at"]})
    token = rotated.pop("token")
    emit(rotated)
    sys.stdout.write(token + "\n")


@users_app.command("revoke")
def users_revoke(
    name: Annotated[str, typer.Argument(help="The user whose token stops working now.")],
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Revoke a user's token (the user stays in the audit log)."""
    cfg = edge_config(config)
    with opened_store(db) as store:
        out = revoke_user(store, name, by=cli_actor())
        _cli_audit(store, cfg, "intel users revoke", name, {})
        emit(out)


@users_app.command("list")
def users_list(db: DbOption = None) -> None:
    """Every user, with role and when created or revoked (never a token)."""
    with opened_store(db, read_only=True) as store:
        emit({"users": list_users(store)})
