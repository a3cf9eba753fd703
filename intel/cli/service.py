"""The service: ``intel serve``, ``intel users`` and ``intel audit``."""

from __future__ import annotations

import sys
from typing import Annotated, Any, Optional

import typer
import uvicorn

from access.audit import journal_path, list_audit, record, recover_journal, verify as verify_chain
from access.users import add_user, list_users, revoke_user
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
    typer.echo(f"serving {application.state.store.path} on http://{host}:{port} (workspace: /, docs: /docs)",
               err=True)
    # no Server header (what software runs here is nobody's business), and X-Forwarded-* not
    # read: no client address is used or logged, and not parsing them is a little less per request
    uvicorn.run(application, host=host, port=port, workers=1, log_level="warning", server_header=False,
                proxy_headers=False)
    application.state.audit_queue.close()   # the last entries are committed before exit


users_app = typer.Typer(help="API users: add (prints a token), revoke, list.", no_args_is_help=True)
app.add_typer(users_app, name="users")


def _cli_audit(store: Store, command: str, subject: str, detail: dict[str, Any]) -> None:
    record(store, user_name=cli_actor(), role="cli", method="CLI", endpoint=command, path=command,
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
        _cli_audit(store, "intel users add", created["name"], {"role": role})
    token = created.pop("token")
    emit(created)
    sys.stdout.write(token + "\n")


@users_app.command("revoke")
def users_revoke(
    name: Annotated[str, typer.Argument(help="The user whose token stops working now.")],
    db: DbOption = None,
) -> None:
    """Revoke a user's token (the user stays in the audit log)."""
    with opened_store(db) as store:
        out = revoke_user(store, name, by=cli_actor())
        _cli_audit(store, "intel users revoke", name, {})
        emit(out)


@users_app.command("list")
def users_list(db: DbOption = None) -> None:
    """Every user, with role and when created or revoked (never a token)."""
    with opened_store(db, read_only=True) as store:
        emit({"users": list_users(store)})


@app.command()
def audit(
    person: Annotated[Optional[str], typer.Option("--person", help="Only requests about this person (and ids merged into it), with its merge/split log.")] = None,
    user: Annotated[Optional[str], typer.Option("--user", help="Only this user's requests.")] = None,
    since: Annotated[Optional[str], typer.Option("--since", help="Only entries from this date (YYYY-MM-DD[THH:MM]).")] = None,
    verify: Annotated[bool, typer.Option("--verify", help="Also check the log's hash chain (a changed or removed entry breaks it).")] = False,
    db: DbOption = None,
) -> None:
    """The audit log (read only): who read or changed personal data, when, why, with what result."""
    with opened_store(db, read_only=True) as store:
        leftover = journal_path(store.path)
    if leftover.exists() and leftover.stat().st_size:
        # a server stopped without moving its last entries in: they are part of the log
        with opened_store(db) as store:
            recover_journal(store)
    with opened_store(db, read_only=True) as store:
        out = list_audit(store, person=person, user=user, since=since)
        if verify:
            out["chain"] = verify_chain(store)
        emit(out)
