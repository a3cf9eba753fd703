"""The ``intel`` command line: the top floor's adapter over the library.

Each command loads the configuration once (``--config`` / ``$INTEL_CONFIG``), opens the store,
calls one library function and prints one JSON object on stdout; progress and logs go to stderr.
A refused input exits with status 2 and a message on stderr that says what is wrong and where;
the library function guarantees the store is unchanged.

Commands live one area to a module (``data``, ``linkage``, ``views``, ``findings``, ``metrics``, ``service``),
each a typer app merged here, so adding a command touches only its area's module.
"""

from __future__ import annotations

import typer

from core.errors import IntelError
from core.store import StoreError
from intel.cli import audit, data, findings, linkage, metrics, service, views

app = typer.Typer(
    help="mash-intel: repeat-victim and network intelligence for a Multi-Agency Safeguarding Hub.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
for area in (data, linkage, views, findings, metrics, service, audit):
    app.add_typer(area.app)


def main() -> None:
    """The console entry point (and ``python -m intel.cli``): no traceback reaches a user. A
    refusal is exit 2 with its message (each command's own handling); anything unforeseen is exit
    1 with one line naming it."""
    try:
        app(standalone_mode=True)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        typer.echo("error: interrupted", err=True)
        raise SystemExit(130) from None
    except (IntelError, StoreError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
    except Exception as exc:  # noqa: BLE001 - the one place every command's surprise is caught
        typer.echo(f"error: {type(exc).__name__}: {exc} (an internal error: please report it; the store is "
                   "left as its transaction left it)", err=True)
        raise SystemExit(1) from None
