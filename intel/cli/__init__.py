"""The ``intel`` command line: the top floor's adapter over the library.

Each command loads the configuration once (``--config`` / ``$INTEL_CONFIG``), opens the store,
calls one library function and prints one JSON object on stdout; progress and logs go to stderr.
A refused input exits with status 2 and a message on stderr that says what is wrong and where;
the library function guarantees the store is unchanged.

Commands live one area to a module (``data``, ``linkage``, ``views``, ``findings``, ``service``),
each a typer app merged here, so adding a command touches only its area's module.
"""

from __future__ import annotations

import typer

from intel.cli import data, findings, linkage, service, views

app = typer.Typer(
    help="mash-intel: repeat-victim and network intelligence for a Multi-Agency Safeguarding Hub.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
for area in (data, linkage, views, findings, service):
    app.add_typer(area.app)


def main() -> None:  # pragma: no cover - the console entry point
    app()
