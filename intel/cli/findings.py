"""What the hub should know: ``intel analytics``, ``alerts``, ``nightly`` and ``runs``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from core.errors import Conflict, IntelError
from core.store import Store, StoreError
from findings.alerts import act_on_alert, list_alerts
from findings.analytics import run_analytics
from findings.run_reports import RunPaths, shown
from findings.runs import get_run, list_runs, run_nightly
from intel.cli.common import ConfigOption, DbOption, EngineOption, edge_config, emit, fail, opened_store, run_guarded
from intel.cli.reads import PurposeOption, audited_read
from linkage.spark_engine import engine_from_config

app = typer.Typer()


@app.command()
def analytics(db: DbOption = None, config: ConfigOption = None) -> None:
    """Run every analytics rule over the whole population and rewrite the findings (counts and timings)."""
    cfg = edge_config(config)
    with opened_store(db) as store:
        emit(run_analytics(store, cfg))


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
    possible: Annotated[Optional[bool], typer.Option(
        "--possible/--confirmed", help="Only possible alerts (resting on links in review), or only confirmed ones.")] = None,
    purpose: PurposeOption = None,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """List alerts, strongest first: severity, then score (how far past the rule's threshold), then newest.
    Alerts name people and the records behind them: a purpose is required and the read is audited."""
    if ctx.invoked_subcommand is not None:
        return
    if fmt not in ("json", "table"):
        fail(f"--format must be json or table, got {fmt!r}")
    cfg = edge_config(config)
    with audited_read(db, cfg, purpose, command="intel alerts", subject_kind="alert", subject_id=person) as read:
        found = list_alerts(read.store, status=status, rule=rule, person_id=person, severity=severity, limit=limit,
                            possible=possible, config=cfg, with_total=True)
        read.done(returned=[a["alert_id"] for a in found["items"]][:1000], status_filter=status, rule=rule)
    if fmt == "json":
        emit(found)
        return
    head = f"{'alert':<10} {'rule':<24} {'about':<36} {'severity':<8} {'score':>5} {'status':<12} explanation"
    lines = [head] + [
        f"{a['alert_id']:<10} {a['rule']:<24} {(a.get('subject') or a['person_id'] or '-')[:36]:<36} {a['severity']:<8} "
        f"{a['score'] or 0:>5.1f} {a['status']:<12} {a['explanation'][:90]}" for a in found["items"]]
    sys.stdout.write("\n".join(lines) + f"\n{found['total']} alert(s)\n")


def _act(alert_id: str, action: str, by: str, reason: str, db: Path | None) -> None:
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
    engine: EngineOption = None,
) -> None:
    """The nightly run: ingest -> incremental link -> analytics -> alerts, all or nothing.

    Prints the JSON run report. Exit 0: completed; 1: failed (rolled back; the store serves the
    last complete state); 2: refused input; 3: another run holds the lock."""
    cfg = edge_config(config)
    scorer = run_guarded(lambda: engine_from_config(cfg, engine))   # Spark checked before any work
    try:
        store = Store(db, create=False)
    except StoreError as exc:
        fail(str(exc))
    try:
        emit(run_nightly(store, drop_dir, config=cfg, link_engine=scorer))
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
    config: ConfigOption = None,
) -> None:
    """Nightly runs: status, times and reports (paths relative to the drops folder or the store's folder)."""
    cfg = edge_config(config)
    with opened_store(db, read_only=True) as store:
        paths = RunPaths(store.path, cfg)
        emit(shown(get_run(store, run_id) if run_id else {"runs": list_runs(store)}, paths))
