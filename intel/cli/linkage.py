"""People: ``intel link``, ``decide``, ``explain``, ``evaluate`` and ``export persons``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from intel.cli.common import ConfigOption, DbOption, EngineOption, edge_config, emit, fail, opened_store, run_guarded
from linkage.decisions import decide as record_decision
from linkage.evaluate import evaluate as run_evaluate
from linkage.explain import explain_pair
from linkage.export import export_persons
from linkage.run import link as run_link
from linkage.spark_engine import SparkFailure, engine_from_config

app = typer.Typer()


@app.command()
def link(
    db: DbOption = None,
    retrain: Annotated[bool, typer.Option("--retrain", help="Retrain the model, then rescore and recluster everything.")] = False,
    full: Annotated[bool, typer.Option("--full", help="Rescore and recluster everything (default: only new and changed mentions).")] = False,
    config: ConfigOption = None,
    engine: EngineOption = None,
) -> None:
    """Link mentions into persons (stable person ids; people's decisions always hold).

    Exit 2: refused (bad input or Spark settings, no Java); 1: Spark failed midway (nothing written)."""
    cfg = edge_config(config)
    scorer = run_guarded(lambda: engine_from_config(cfg, engine))   # Spark checked before any work
    with opened_store(db) as store:
        try:
            emit(run_link(store, retrain=retrain, full=full, config=cfg, engine=scorer))
        except SparkFailure as exc:
            fail(str(exc), code=1)


@app.command()
def decide(
    mention_a: Annotated[str, typer.Argument(help="SOURCE:RECORD_ID, e.g. police:P000123")],
    mention_b: Annotated[str, typer.Argument(help="SOURCE:RECORD_ID")],
    decision: Annotated[str, typer.Argument(help="same or different")],
    by: Annotated[str, typer.Option("--by", help="Who decides (recorded).")] = "",
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded).")] = "",
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Record that two records are the same person or different people; takes effect now."""
    cfg = edge_config(config)
    with opened_store(db) as store:
        emit(record_decision(store, mention_a, mention_b, decision, by, reason, config=cfg))


export_app = typer.Typer(help="Export what the store knows.", no_args_is_help=True)
app.add_typer(export_app, name="export")


@export_app.command("persons")
def export_persons_command(
    out: Annotated[Path, typer.Option("--out", help="The CSV file to write.")],
    db: DbOption = None,
) -> None:
    """Write source, record_id, person_id, link_probability for every mention."""
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
    try:
        thresholds = [float(t) for t in sweep.split(",") if t.strip()] if sweep else None
    except ValueError:
        fail(f"--sweep must be numbers separated by commas, got {sweep!r}")
    with opened_store(db, read_only=True) as store:
        emit(run_evaluate(store, truth, sweep=thresholds))


@app.command()
def explain(
    mention_a: Annotated[str, typer.Argument(help="SOURCE:RECORD_ID, e.g. police:P000123")],
    mention_b: Annotated[str, typer.Argument(help="SOURCE:RECORD_ID")],
    html: Annotated[Optional[Path], typer.Option("--html", help="Also write the waterfall chart to this HTML file.")] = None,
    db: DbOption = None,
) -> None:
    """Why the model scores two records as it does: each comparison's weight, and the final probability."""
    with opened_store(db) as store:
        emit(explain_pair(store, mention_a, mention_b, html_path=html))
