"""The audit log on the command line: ``intel audit`` (list, ``--verify``) and ``intel audit
rotate-key`` (docs/audit.md)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from access.audit import AuditWriter, journal_path, list_audit, open_chain, recover_journal
from access.audit_chain import audit_paths, create_key, rotate_key
from access.audit_verify import verify as verify_chain
from core.errors import IntelError
from intel.cli.common import ConfigOption, DbOption, cli_actor, edge_config, emit, fail, opened_store, run_guarded

app = typer.Typer()

audit_app = typer.Typer(help="The audit log: list and verify it (read only), or rotate its key.",
                        invoke_without_command=True, no_args_is_help=False)
app.add_typer(audit_app, name="audit")


@audit_app.callback()
def audit(
    ctx: typer.Context,
    person: Annotated[Optional[str], typer.Option("--person", help="Only requests about this person (and ids merged into it), with its merge/split log.")] = None,
    user: Annotated[Optional[str], typer.Option("--user", help="Only this user's requests.")] = None,
    since: Annotated[Optional[str], typer.Option("--since", help="Only entries from this date (YYYY-MM-DD[THH:MM]).")] = None,
    verify: Annotated[bool, typer.Option("--verify", help="Also check the keyed chain and its anchor; exit 1 if anything is wrong (docs/audit.md).")] = False,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """The audit log (read only): who read or changed personal data, when, why, with what result."""
    if ctx.invoked_subcommand is not None:
        return
    cfg = edge_config(config)
    with opened_store(db, read_only=True) as store:
        leftover = journal_path(store.path)
    journal_problem = None
    if leftover.exists() and leftover.stat().st_size:
        # a server stopped without moving its last entries in: they are part of the log
        with opened_store(db) as store:
            try:
                recover_journal(store, keys=open_chain(store, cfg)[0])
            except IntelError as exc:
                if not verify:
                    fail(str(exc))
                journal_problem = {"kind": "journal", "first": None, "last": None, "why": str(exc)}
    with opened_store(db, read_only=True) as store:
        out = list_audit(store, person=person, user=user, since=since)
        if verify:
            chain = verify_chain(store, cfg)
            if journal_problem:
                chain = {**chain, "ok": False, "problems": [journal_problem, *chain.get("problems", [])]}
                chain.setdefault("broken_at", None)
                chain.setdefault("why", journal_problem["why"])
            out["chain"] = chain
        emit(out)
    if verify and not out["chain"]["ok"]:
        typer.echo("error: the audit log does not verify: " + "; ".join(
            p["why"] for p in out["chain"]["problems"]), err=True)
        raise typer.Exit(1)


@audit_app.command("rotate-key")
def audit_rotate_key(
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Start signing audit entries with a new key (appended to the key file; the old keys stay to
    verify the entries they signed). Run it with the server stopped; the rotation is itself an entry."""
    cfg = edge_config(config)
    with opened_store(db) as store:
        key_file = audit_paths(store.path, cfg)[0]
        first = not key_file.exists()     # a store from before the keyed chain: its first key
        if first:
            run_guarded(lambda: create_key(key_file))
        writer = AuditWriter(store, cfg)
        old = None if first else writer.keys.current_id
        if not first:
            writer.keys = rotate_key(writer.keys)
        entry = writer.write(store, user_name=cli_actor(), role="cli", method="CLI", endpoint="intel audit rotate-key",
                             path="intel audit rotate-key", status=200, subject_kind="audit_key",
                             subject_id=writer.keys.current_id, detail={"retired_key_id": old})
        writer.close()
        emit({"key_file": writer.keys.path, "retired_key_id": old, "key_id": writer.keys.current_id,
              "entry": entry["seq"]})
