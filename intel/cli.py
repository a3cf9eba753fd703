"""The ``intel`` command line.

Each command opens the store, calls one library function and prints one JSON object on stdout.
Progress and logs go to stderr. A refused input exits with status 2 and a message on stderr
that says what is wrong and where; the library function guarantees the store is unchanged.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Iterator, Optional

import typer

from intel.errors import IntelError
from intel.serialise import json_default
from intel.store import Store, StoreError

app = typer.Typer(
    help="mash-intel: repeat-victim and network intelligence for a Multi-Agency Safeguarding Hub.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DbOption = Annotated[
    Optional[Path],
    typer.Option("--db", help="The store (a DuckDB file). Default: $INTEL_DB or ./intel.duckdb."),
]


def emit(obj: Any) -> None:
    """Print the command's one JSON object on stdout."""
    sys.stdout.write(json.dumps(obj, default=json_default, indent=2, ensure_ascii=False) + "\n")


def fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def opened_store(db: Path | None, *, read_only: bool = False) -> Iterator[Store]:
    """Open the store for one command, turning known errors into a clear exit 2."""
    try:
        store = Store(db, read_only=read_only)
    except StoreError as exc:
        fail(str(exc))
    try:
        yield store
    except (IntelError, StoreError) as exc:
        fail(str(exc))
    finally:
        store.close()


def run_guarded(fn: Callable[[], Any]) -> Any:
    """Call a library function that needs no store, turning IntelError into exit 2."""
    try:
        return fn()
    except IntelError as exc:
        fail(str(exc))


# --- ingest and generate (foundation) ------------------------------------------------------

@app.command()
def ingest(
    drop_dir: Annotated[Path, typer.Argument(help="The drop folder: police*.csv, social_care*.csv, health*.csv ...")],
    db: DbOption = None,
    mapping: Annotated[
        Optional[list[str]],
        typer.Option("--mapping", help="SOURCE=PROFILE.toml: map an agency's own export onto the contract."),
    ] = None,
) -> None:
    """Validate and load a drop into the store (refused whole, with exit 2, if unusable)."""
    from intel.ingest import ingest_drop
    from intel.mapping import parse_mapping_options

    mappings = run_guarded(lambda: parse_mapping_options(mapping or []))
    with opened_store(db) as store:
        emit(ingest_drop(store, drop_dir, mappings=mappings))


@app.command()
def generate(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write the drop and its ground truth into.")],
    households: Annotated[int, typer.Option(help="Number of households in the world.")] = 1000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same world.")] = 1,
    nightly_days: Annotated[int, typer.Option(
        help="Hold back the last N days' events as daily drops in OUT_DIR/nightly/YYYY-MM-DD/.")] = 0,
    uprn_rate: Annotated[float | None, typer.Option(
        help="Share of rows every agency sends with a UPRN (default: each agency's own rate).")] = None,
) -> None:
    """Write a deterministic synthetic safeguarding world: OUT_DIR/drop/ in the contract, OUT_DIR/truth/."""
    from fixtures.world import generate_world

    if households < 1:
        fail(f"--households must be at least 1, got {households}")
    if uprn_rate is not None and not 0.0 <= uprn_rate <= 1.0:
        fail(f"--uprn-rate must be between 0 and 1, got {uprn_rate}")
    emit(run_guarded(lambda: generate_world(out_dir, households=households, seed=seed, nightly_days=nightly_days,
                                            uprn_rate=uprn_rate)))


@app.command()
def demo(
    folder: Annotated[Path, typer.Option("--folder", help="Where to put the demo store and data.")] = Path("demo"),
    households: Annotated[int, typer.Option(help="World size (about 20 mentions per household).")] = 1000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
    fresh: Annotated[bool, typer.Option("--fresh", help="Erase a used demo store (users, decisions, alert actions).")] = False,
) -> None:
    """Generate a world, ingest it and run every later stage, then print what was found."""
    from intel.demo import run_demo

    emit(run_guarded(lambda: run_demo(folder, households=households, seed=seed, fresh=fresh)))


# --- later areas register their commands below, one section each -----------------------------

# --- linkage: identity (link, decide, export persons, evaluate) -------------------------------

@app.command()
def link(
    db: DbOption = None,
    retrain: Annotated[bool, typer.Option("--retrain", help="Retrain the model, then rescore and recluster everything.")] = False,
    full: Annotated[bool, typer.Option("--full", help="Rescore and recluster everything (default: only new and changed mentions).")] = False,
) -> None:
    """Link mentions into persons (stable person ids; people's decisions always hold)."""
    from linkage.run import link as run_link

    with opened_store(db) as store:
        emit(run_link(store, retrain=retrain, full=full))


@app.command()
def decide(
    mention_a: Annotated[str, typer.Argument(help="SOURCE:RECORD_ID, e.g. police:P000123")],
    mention_b: Annotated[str, typer.Argument(help="SOURCE:RECORD_ID")],
    decision: Annotated[str, typer.Argument(help="same or different")],
    by: Annotated[str, typer.Option("--by", help="Who decides (recorded).")] = "",
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded).")] = "",
    db: DbOption = None,
) -> None:
    """Record that two records are the same person or different people; takes effect now."""
    from linkage.decisions import decide as record_decision

    with opened_store(db) as store:
        emit(record_decision(store, mention_a, mention_b, decision, by, reason))


export_app = typer.Typer(help="Export what the store knows.", no_args_is_help=True)
app.add_typer(export_app, name="export")


@export_app.command("persons")
def export_persons_command(
    out: Annotated[Path, typer.Option("--out", help="The CSV file to write.")],
    db: DbOption = None,
) -> None:
    """Write source, record_id, person_id, link_probability for every mention."""
    from linkage.export import export_persons

    with opened_store(db, read_only=True) as store:
        emit(export_persons(store, out))


@app.command()
def evaluate(
    truth: Annotated[Path, typer.Argument(help="Ground truth CSV with columns source, record_id, person.")],
    db: DbOption = None,
    sweep: Annotated[
        Optional[str],
        typer.Option("--sweep", help="Also evaluate these thresholds, e.g. 0.8,0.9,0.95 (nothing is written)."),
    ] = None,
) -> None:
    """Pairwise and B-cubed precision, recall and F1 of the persons against a ground truth."""
    from linkage.evaluate import evaluate as run_evaluate

    try:
        thresholds = [float(t) for t in sweep.split(",") if t.strip()] if sweep else None
    except ValueError:
        fail(f"--sweep must be numbers separated by commas, got {sweep!r}")
    with opened_store(db, read_only=True) as store:
        emit(run_evaluate(store, truth, sweep=thresholds))


# --- linkage: model (explain a pair's score) --------------------------------------------------

@app.command()
def explain(
    mention_a: Annotated[str, typer.Argument(help="SOURCE:RECORD_ID, e.g. police:P000123")],
    mention_b: Annotated[str, typer.Argument(help="SOURCE:RECORD_ID")],
    html: Annotated[Optional[Path], typer.Option("--html", help="Also write the waterfall chart to this HTML file.")] = None,
    db: DbOption = None,
) -> None:
    """Why the model scores two records as it does: each comparison's weight, and the final probability."""
    from linkage.explain import explain_pair

    with opened_store(db) as store:
        emit(explain_pair(store, mention_a, mention_b, html_path=html))


# --- analytics and network views ----------------------------------------------------------------

@app.command()
def analytics(
    db: DbOption = None,
    config: Annotated[Optional[Path], typer.Option("--config", help="The hub's config TOML (default: $INTEL_CONFIG).")] = None,
) -> None:
    """Run every analytics rule over the whole population and rewrite the findings (counts and timings)."""
    from intel.analytics import run_analytics
    from intel.config import load_config

    cfg = run_guarded(lambda: load_config(config))
    with opened_store(db) as store:
        emit(run_analytics(store, cfg))


@app.command()
def network(
    person_id: Annotated[str, typer.Argument(help="The person id, e.g. P00000042 (merged ids are followed).")],
    hops: Annotated[int, typer.Option("--hops", help="Person-to-person steps through shared events or households.")] = 2,
    fmt: Annotated[str, typer.Option("--format", help="json (Cytoscape.js elements), graphml or svg.")] = "json",
    out: Annotated[Optional[Path], typer.Option("--out", help="Write the view to this file (default: stdout).")] = None,
    db: DbOption = None,
) -> None:
    """A person's network for MARAC. With --out, prints a JSON summary; without, the view itself."""
    from intel.network_view import network_view

    with opened_store(db, read_only=True) as store:
        view = network_view(store, person_id, hops=hops, fmt=fmt)
    text = json.dumps(view, default=json_default, indent=2, ensure_ascii=False) if fmt == "json" else view
    if out is None:
        sys.stdout.write(text + ("" if text.endswith("\n") else "\n"))
        return
    out.write_text(text, encoding="utf-8")
    emit({"person_id": view["person_id"] if fmt == "json" else person_id, "format": fmt, "out": out,
          "bytes": len(text.encode())})


# --- API: serve, users, audit ------------------------------------------------------------------

@app.command()
def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs). The server holds the store while it runs: start
    nightly runs with POST /runs and manage users with /users while it does."""
    import uvicorn

    from api.app import create_app

    try:
        application = create_app(db)
    except (IntelError, StoreError) as exc:
        fail(str(exc))
    typer.echo(f"serving {application.state.store.path} on http://{host}:{port} (docs: /docs)", err=True)
    # no Server header (what software runs here is nobody's business), and X-Forwarded-* not
    # read: no client address is used or logged, and not parsing them is a little less per request
    uvicorn.run(application, host=host, port=port, workers=1, log_level="warning", server_header=False,
                proxy_headers=False)
    application.state.audit_queue.close()   # the last entries are committed before exit


users_app = typer.Typer(help="API users: add (prints a token), revoke, list.", no_args_is_help=True)
app.add_typer(users_app, name="users")


def _cli_actor() -> str:
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no login name (a container): still say it was the CLI
        return "cli"


def _cli_audit(store: Store, command: str, subject: str, detail: dict[str, Any]) -> None:
    from intel.audit import record

    record(store, user_name=_cli_actor(), role="cli", method="CLI", endpoint=command, path=command,
           status=200, subject_kind="user", subject_id=subject, detail=detail)


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="The user's name (letters, digits, . _ @ -).")],
    role: Annotated[str, typer.Option("--role", help="analyst, marac or admin.")],
    db: DbOption = None,
) -> None:
    """Create a user. Prints the user as a JSON object, then the new bearer token alone on the LAST
    line (shown once: only its SHA-256 is stored)."""
    from intel.users import add_user

    with opened_store(db) as store:
        created = add_user(store, name, role, by=_cli_actor())
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
    from intel.users import revoke_user

    with opened_store(db) as store:
        out = revoke_user(store, name, by=_cli_actor())
        _cli_audit(store, "intel users revoke", name, {})
        emit(out)


@users_app.command("list")
def users_list(db: DbOption = None) -> None:
    """Every user, with role and when created or revoked (never a token)."""
    from intel.users import list_users

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
    from intel.audit import journal_path, list_audit, recover_journal, verify as verify_chain

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



# --- chronology, alerts and the nightly run ------------------------------------------------------

ConfigOption = Annotated[Optional[Path], typer.Option("--config", help="The hub's config TOML (default: $INTEL_CONFIG).")]


@app.command()
def chronology(
    person_id: Annotated[Optional[str], typer.Argument(help="The person (a merged id resolves to the survivor).")] = None,
    household: Annotated[Optional[str], typer.Option("--household", help="A household key instead of a person.")] = None,
    date_from: Annotated[Optional[str], typer.Option("--from", help="Only entries on or after this date (YYYY-MM-DD).")] = None,
    date_to: Annotated[Optional[str], typer.Option("--to", help="Only entries on or before this date.")] = None,
    sources: Annotated[Optional[str], typer.Option("--sources", help="Only these agencies, e.g. police,health.")] = None,
    harm_only: Annotated[bool, typer.Option("--harm-only", help="Only events where the person was harmed.")] = False,
    fmt: Annotated[str, typer.Option("--format", help="json, csv or html (csv and html never include hub-only records).")] = "json",
    no_health_clearance: Annotated[bool, typer.Option("--no-health-clearance", help="View as someone without health clearance.")] = False,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Every event across agencies for a person or household, in date order, with a header."""
    from intel.chronology import chronology as build, to_csv, to_html
    from intel.config import load_config

    if fmt not in ("json", "csv", "html"):
        fail(f"--format must be json, csv or html, got {fmt!r}")
    cfg = run_guarded(lambda: load_config(config))
    with opened_store(db, read_only=True) as store:
        chron = build(store, person_id=person_id, household_key=household, date_from=date_from, date_to=date_to,
                      sources=sources, harm_only=harm_only, health_clearance=not no_health_clearance,
                      export=fmt != "json", config=cfg)
        if fmt == "json":
            emit(chron)
        else:
            sys.stdout.write(to_csv(chron) if fmt == "csv" else to_html(chron))


alerts_app = typer.Typer(help="Alerts: list them, acknowledge or close one.", invoke_without_command=True,
                         no_args_is_help=False)
app.add_typer(alerts_app, name="alerts")


@alerts_app.callback()
def alerts_list(
    ctx: typer.Context,
    status: Annotated[str, typer.Option("--status", help="new, baseline, acknowledged, closed, open or all.")] = "open",
    rule: Annotated[Optional[str], typer.Option("--rule", help="Only this rule.")] = None,
    person: Annotated[Optional[str], typer.Option("--person", help="Only alerts naming this person.")] = None,
    severity: Annotated[Optional[str], typer.Option("--severity", help="low, medium or high.")] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", min=0, help="At most this many.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="json ({total, items}) or table.")] = "json",
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """List alerts, strongest first: severity, then score (how far past the rule's threshold), then newest."""
    if ctx.invoked_subcommand is not None:
        return
    from intel.alerts import list_alerts
    from intel.config import load_config

    if fmt not in ("json", "table"):
        fail(f"--format must be json or table, got {fmt!r}")
    cfg = run_guarded(lambda: load_config(config))
    with opened_store(db, read_only=True) as store:
        page = list_alerts(store, status=status, rule=rule, person_id=person, severity=severity, limit=limit,
                           config=cfg, with_total=True)
    if fmt == "json":
        emit(page)
        return
    head = f"{'alert':<10} {'rule':<24} {'person':<10} {'severity':<8} {'score':>5} {'status':<12} {'raised':<16} explanation"
    lines = [head] + [
        f"{a['alert_id']:<10} {a['rule']:<24} {a['person_id'] or '-':<10} {a['severity']:<8} {a['score'] or 0:>5.1f} "
        f"{a['status']:<12} {str(a['raised_at'])[:16]:<16} {a['explanation'][:100]}" for a in page["items"]]
    sys.stdout.write("\n".join(lines) + f"\n{page['total']} alert(s)\n")


def _act(alert_id: str, action: str, by: str, reason: str, db: Path | None) -> None:
    from intel.alerts import act_on_alert

    with opened_store(db) as store:
        emit(act_on_alert(store, alert_id, action, by, reason))


@alerts_app.command("ack")
def alerts_ack(
    alert_id: Annotated[str, typer.Argument(help="The alert, e.g. A0000012.")],
    by: Annotated[str, typer.Option("--by", help="Who is acknowledging it.")],
    reason: Annotated[str, typer.Option("--reason", help="Why / what was done.")],
    db: DbOption = None,
) -> None:
    """Acknowledge a new alert (new -> acknowledged)."""
    _act(alert_id, "acknowledge", by, reason, db)


@alerts_app.command("close")
def alerts_close(
    alert_id: Annotated[str, typer.Argument(help="The alert.")],
    by: Annotated[str, typer.Option("--by", help="Who is closing it.")],
    reason: Annotated[str, typer.Option("--reason", help="Why it can be closed.")],
    db: DbOption = None,
) -> None:
    """Close an acknowledged alert (acknowledged -> closed)."""
    _act(alert_id, "close", by, reason, db)


@app.command()
def nightly(
    drop_dir: Annotated[Path, typer.Argument(help="Tonight's drop folder.")],
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """The nightly run: ingest -> incremental link -> analytics -> alerts, all or nothing.

    Prints the JSON run report. Exit 0: completed; 1: failed (rolled back; the store serves the
    last complete state); 2: refused input; 3: another run holds the lock."""
    from intel.config import load_config
    from intel.errors import Conflict
    from intel.runs import run_nightly

    cfg = run_guarded(lambda: load_config(config))
    try:
        store = Store(db)
    except StoreError as exc:
        fail(str(exc))
    try:
        emit(run_nightly(store, drop_dir, config=cfg))
    except Conflict as exc:
        fail(str(exc), code=3)
    except IntelError as exc:
        if getattr(exc, "run_report", None):
            emit(exc.run_report)
        fail(str(exc))
    except Exception as exc:  # the run rolled back; report and exit 1
        emit(getattr(exc, "run_report", None) or {"status": "failed", "error": f"{type(exc).__name__}: {exc}"})
        fail(f"the nightly run failed: {type(exc).__name__}: {exc}", code=1)
    finally:
        store.close()


@app.command()
def runs(
    run_id: Annotated[Optional[str], typer.Argument(help="One run's full report; default: the latest runs.")] = None,
    db: DbOption = None,
) -> None:
    """Nightly runs: status, times and reports."""
    from intel.runs import get_run, list_runs

    with opened_store(db, read_only=True) as store:
        emit(get_run(store, run_id) if run_id else {"runs": list_runs(store)})

def main() -> None:  # pragma: no cover - the console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
