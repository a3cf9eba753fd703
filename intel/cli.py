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
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Iterator, Optional

import typer

from intel.errors import IntelError
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


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def emit(obj: Any) -> None:
    """Print the command's one JSON object on stdout."""
    sys.stdout.write(json.dumps(obj, default=_json_default, indent=2, ensure_ascii=False) + "\n")


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
) -> None:
    """Write a deterministic synthetic safeguarding world: a drop in the contract plus ground truth."""
    from fixtures.world import generate_world

    if households < 1:
        fail(f"--households must be at least 1, got {households}")
    emit(run_guarded(lambda: generate_world(out_dir, households=households, seed=seed)))


@app.command()
def demo(
    folder: Annotated[Path, typer.Option("--folder", help="Where to put the demo store and data.")] = Path("demo"),
    households: Annotated[int, typer.Option(help="World size (about 20 mentions per household).")] = 1000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
) -> None:
    """Generate a world, ingest it and run every later stage, then print what was found."""
    from intel.demo import run_demo

    emit(run_guarded(lambda: run_demo(folder, households=households, seed=seed)))


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


def main() -> None:  # pragma: no cover - the console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
