"""``intel metrics``: the hub's performance metrics as JSON, long CSV or a printable HTML report."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from findings.metrics import compute_hub_metrics, parse_range
from intel.cli.common import ConfigOption, DbOption, edge_config, emit, fail, opened_store, run_guarded
from views.metrics_report import FORMATS, render, write_report

app = typer.Typer()


@app.command()
def metrics(
    date_from: Annotated[Optional[str], typer.Option("--from", help="First day (YYYY-MM-DD). Default: the 1st of the month a year back.")] = None,
    date_to: Annotated[Optional[str], typer.Option("--to", help="Last day (YYYY-MM-DD). Default: today.")] = None,
    by: Annotated[str, typer.Option("--by", help="month or quarter.")] = "month",
    fmt: Annotated[str, typer.Option("--format", help="json, csv (long, for Excel / Power BI) or html (printable, charts inline).")] = "json",
    out: Annotated[Optional[Path], typer.Option("--out", help="Write the report here and print a JSON summary (default: stdout).")] = None,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Hub performance metrics: demand, timeliness, outcomes, repeats and the product's own figures."""
    if fmt not in FORMATS:
        fail(f"--format {fmt!r} is not a report format; use one of: {', '.join(FORMATS)}")
    run_guarded(lambda: parse_range(date_from, date_to, by))
    cfg = edge_config(config)
    with opened_store(db, read_only=True) as store:
        report = compute_hub_metrics(store, cfg, date_from=date_from, date_to=date_to, by=by)
    text = render(report, fmt)
    if out is None:
        sys.stdout.write(text)
        return
    emit(run_guarded(lambda: write_report(report, text, out, fmt)))
