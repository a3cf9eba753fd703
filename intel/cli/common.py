"""What every ``intel`` command shares: opening the store, loading the configuration once,
printing the one JSON object, and turning refused input into exit status 2.

Commands live in the sibling modules, one per area; this module is the only place that maps
library errors to exit codes, as ``api/problems.py`` is for HTTP statuses.
"""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Iterator, Optional

import typer

from core.config import Config, load_config
from core.errors import IntelError
from core.serialise import json_default
from core.store import Store, StoreError, default_db_path

DbOption = Annotated[
    Optional[Path],
    typer.Option("--db", help="The store (a DuckDB file). Default: $INTEL_DB or ./intel.duckdb."),
]
ConfigOption = Annotated[
    Optional[Path],
    typer.Option("--config", help="The hub's config TOML (default: $INTEL_CONFIG)."),
]

EngineOption = Annotated[
    Optional[str],
    typer.Option("--engine", help="What scores pairs: duckdb or spark (default: config [linkage] engine)."),
]


def emit(obj: Any) -> None:
    """Print the command's one JSON object on stdout."""
    sys.stdout.write(json.dumps(obj, default=json_default, indent=2, ensure_ascii=False) + "\n")


def fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def opened_store(db: Path | None, *, read_only: bool = False, create: bool = False) -> Iterator[Store]:
    """Open the store for one command, turning known errors into a clear exit 2. Only ``intel
    init`` and ``ingest --create`` make a store (``create``); every other command refuses a path
    that is not an existing store of this project."""
    try:
        store = Store(db, read_only=read_only, create=create)
    except StoreError as exc:
        fail(str(exc))
    try:
        yield store
    except (IntelError, StoreError) as exc:
        fail(str(exc))
    finally:
        store.close()


def refuse_missing_folder(db: Path | None) -> Path:
    """The store's path, if its folder exists (exit 2 otherwise: a store is never made in a
    folder that a typo invented)."""
    path = db if db is not None else default_db_path()
    if not path.parent.is_dir():
        fail(f"the folder {path.parent} does not exist: create it first (a store is never made in a folder "
             "that a typo invented)")
    return path


def run_guarded(fn: Callable[[], Any]) -> Any:
    """Call a library function that needs no store, turning IntelError into exit 2."""
    try:
        return fn()
    except IntelError as exc:
        fail(str(exc))


def edge_config(path: Path | None) -> Config:
    """The configuration, loaded once here at the edge and passed down (exit 2 if unreadable)."""
    return run_guarded(lambda: load_config(path))


def cli_actor() -> str:
    """Who is at the keyboard, for the audit log."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no login name (a container): still say it was the CLI
        return "cli"
