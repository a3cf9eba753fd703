"""People: ``intel link``, ``decide``, ``explain``, ``evaluate`` and ``export persons``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from findings.possible_alerts import sync_possible_alerts
from findings.review import review_queue
from intel.cli.common import ConfigOption, DbOption, EngineOption, edge_config, emit, fail, opened_store, run_guarded
from intel.cli.reads import PurposeOption, audited_read
from linkage.decisions import decide as record_decision
from linkage.evaluate import evaluate as run_evaluate
from linkage.explain import explain_pair
from views.explanation import in_words as explanation_in_words, to_html as explanation_html
from linkage.export import export_persons
from linkage.review import settle
from linkage.run import link as run_link
from linkage.spark_engine import SparkFailure, engine_from_config

app = typer.Typer()


@app.command()
def link(
    db: DbOption = None,
    retrain: Annotated[bool, typer.Option("--retrain", help="Retrain the model, then rescore and recluster everything.")] = False,
    full: Annotated[bool, typer.Option("--full", help="Rescore and recluster everything (default: only new and changed mentions).")] = False,
    one_to_one: Annotated[Optional[str], typer.Option(
        "--one-to-one", help="SOURCE_A,SOURCE_B: two clean lists, one record per person in each; matched one-to-one.")] = None,
    config: ConfigOption = None,
    engine: EngineOption = None,
) -> None:
    """Link mentions into persons (stable person ids; people's decisions always hold).

    Exit 2: refused (bad input or Spark settings, no Java); 1: Spark failed midway (nothing written)."""
    cfg = edge_config(config)
    pair = [p.strip() for p in one_to_one.split(",")] if one_to_one is not None else None
    scorer = run_guarded(lambda: engine_from_config(cfg, engine))   # Spark checked before any work
    with opened_store(db) as store:
        try:
            emit(run_link(store, retrain=retrain, full=full, config=cfg, one_to_one=pair, engine=scorer))
        except SparkFailure as exc:
            fail(str(exc), code=1)


@app.command()
def decide(
    mention_a: Annotated[str, typer.Argument(help="SOURCE:RECORD_ID, e.g. police:P000123")],
    mention_b: Annotated[str, typer.Argument(help="SOURCE:RECORD_ID")],
    decision: Annotated[str, typer.Argument(help="same or different")],
    by: Annotated[str, typer.Option("--by", help="Who decides (recorded).")] = "",
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded).")] = "",
    review: Annotated[bool, typer.Option("--review", help="Settle an item of `intel review`: refused if it is no longer queued.")] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Record that two records are the same person or different people; takes effect now."""
    cfg = edge_config(config)
    with opened_store(db) as store:
        if review:
            result = settle(store, mention_a, mention_b, decision, by, reason, config=cfg)
        else:
            result = record_decision(store, mention_a, mention_b, decision, by, reason, config=cfg)
        # possible alerts resting on this link are confirmed or closed now, not at the next run
        result["possible_alerts"] = sync_possible_alerts(store, None, cfg)
        emit(result)


@app.command()
def review(
    limit: Annotated[int, typer.Option("--limit", help="At most this many items (1-10000).")] = 20,
    fmt: Annotated[str, typer.Option("--format", help="json or table.")] = "json",
    explain: Annotated[bool, typer.Option("--explain/--no-explain",
                                          help="Include each link's match-weight waterfall (json; about 2 s an item "
                                               "on a 15k-mention store, or ask `intel explain A B` for one).")] = False,
    everything: Annotated[bool, typer.Option("--all/--at-stake",
                                             help="Also the links of the band with nothing at stake (no finding to "
                                                  "complete, neither person harmed nor offending), ranked last.")] = False,
    purpose: PurposeOption = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Doubtful links for a person to settle, those that would complete a finding first (then harm, recency).
    Each item shows both records' names, dates of birth and addresses: a read of personal data,
    audited, with a purpose."""
    if not 1 <= limit <= 10000:
        fail(f"--limit must be between 1 and 10000, got {limit}")
    if fmt not in ("json", "table"):
        fail(f"--format must be json or table, got {fmt!r}")
    cfg = edge_config(config)
    with audited_read(db, cfg, purpose, command="intel review", subject_kind="review", subject_id=None) as read:
        queue = review_queue(read.store, cfg, limit=limit, explain=explain and fmt == "json", everything=everything)
        read.done(items=len(queue["items"]), limit=limit, format=fmt, all=everything)
    if fmt == "json":
        emit(queue)
        return
    head = f"{'#':>3} {'probability':>11} {'person a':<12} {'person b':<12} {'harmed':>6} {'latest':<10} would complete / records"
    lines = [f"{queue['total']} items in the review band [{queue['review_threshold']}, {queue['identity_threshold']}), "
             f"{queue['completing']} would complete a finding"
             + ("" if everything else f"; {queue['not_at_stake']} more with nothing at stake (--all lists them)"), head]
    for it in queue["items"]:
        done = ", ".join(f["rule"] for f in it["completes_findings"]) or "-"
        lines.append(f"{it['rank']:>3} {it['match_probability']:>11.4f} {it['person_a']:<12} {it['person_b']:<12} "
                     f"{it['harmed_records']:>6} {str(it['latest_event'] or '-'):<10} {done}  "
                     f"({it['mention_a']} / {it['mention_b']})")
    sys.stdout.write("\n".join(lines) + "\n")


export_app = typer.Typer(help="Export what the store knows.", no_args_is_help=True)
app.add_typer(export_app, name="export")


@export_app.command("persons")
def export_persons_command(
    out: Annotated[Path, typer.Option("--out", help="The CSV file to write.")],
    purpose: PurposeOption = None,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Write source, record_id, person_id, link_probability for every mention."""
    cfg = edge_config(config)
    with audited_read(db, cfg, purpose, command="intel export persons", subject_kind="export",
                      subject_id="persons") as read:
        written = export_persons(read.store, out)
        read.done(rows=written["rows"], persons=written["persons"], out=str(out))
        emit(written)


@app.command()
def evaluate(
    truth: Annotated[Path, typer.Argument(help="Ground truth CSV with columns source, record_id, person.")],
    db: DbOption = None,
    sweep: Annotated[
        Optional[str],
        typer.Option("--sweep", help="Also evaluate these thresholds, e.g. 0.8,0.9,0.95 (nothing is written)."),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Pairwise and B-cubed precision, recall and F1 of the persons against a ground truth."""
    try:
        thresholds = [float(t) for t in sweep.split(",") if t.strip()] if sweep else None
    except ValueError:
        fail(f"--sweep must be numbers separated by commas, got {sweep!r}")
    cfg = edge_config(config)
    with opened_store(db, read_only=True) as store:
        emit(run_evaluate(store, truth, sweep=thresholds, config=cfg))


@app.command()
def explain(
    mention_a: Annotated[str, typer.Argument(help="SOURCE:RECORD_ID, e.g. police:P000123")],
    mention_b: Annotated[str, typer.Argument(help="SOURCE:RECORD_ID")],
    html: Annotated[Optional[Path], typer.Option("--html", help="Also write the explanation in words, printable, to this HTML file.")] = None,
    chart: Annotated[Optional[Path], typer.Option("--chart", help="Also write Splink's waterfall chart (the technical view) to this HTML file.")] = None,
    purpose: PurposeOption = None,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Why the model scores two records as it does: each comparison's weight, and the final probability."""
    cfg = edge_config(config)
    with audited_read(db, cfg, purpose, command="intel explain", subject_kind="mention_pair",
                      subject_id="|".join(sorted((mention_a, mention_b)))) as read:
        explained = explain_pair(read.store, mention_a, mention_b, html_path=chart)
        explained["in_words"] = explanation_in_words(read.store, explained)
        if html is not None:
            html.parent.mkdir(parents=True, exist_ok=True)
            html.write_text(explanation_html(explained["in_words"], chart=str(chart.resolve()) if chart else None),
                            encoding="utf-8")
            explained["page"] = str(html)
        read.done()
        emit(explained)
