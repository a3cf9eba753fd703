"""What people read: ``intel search``, ``intel chronology`` and ``intel network``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from core.serialise import json_default
from intel.cli.common import ConfigOption, DbOption, edge_config, emit, fail
from intel.cli.reads import PurposeOption, audited_read
from views.chronology import chronology as build_chronology
from views.chronology_export import to_csv, to_html
from views.network_view import network_view
from views.reference_search import search_by_reference
from views.search import search_persons

app = typer.Typer()


@app.command()
def chronology(
    person_id: Annotated[Optional[str], typer.Argument(help="The person (a merged id resolves to the survivor).")] = None,
    household: Annotated[Optional[str], typer.Option("--household", help="A household key instead of a person.")] = None,
    date_from: Annotated[Optional[str], typer.Option("--from", help="Only entries on or after this date (2025-01-31 or 31/01/2025).")] = None,
    date_to: Annotated[Optional[str], typer.Option("--to", help="Only entries on or before this date.")] = None,
    sources: Annotated[Optional[str], typer.Option("--sources", help="Only these agencies, e.g. police,health.")] = None,
    harm_only: Annotated[bool, typer.Option("--harm-only", help="Only events where the person was harmed.")] = False,
    fmt: Annotated[str, typer.Option("--format", help="json, csv or html (csv and html never include hub-only records).")] = "json",
    no_health_clearance: Annotated[bool, typer.Option("--no-health-clearance", help="View as someone without health clearance.")] = False,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Count 'the last 12 months' back from this date (default: the latest drop's extract date).")] = None,
    purpose: PurposeOption = None,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Every event across agencies for a person or household, in date order, with a header."""
    if fmt not in ("json", "csv", "html"):
        fail(f"--format must be json, csv or html, got {fmt!r}")
    cfg = edge_config(config)
    kind, subject = ("household", household) if household is not None else ("person", person_id)
    with audited_read(db, cfg, purpose, command="intel chronology", subject_kind=kind, subject_id=subject) as read:
        chron = build_chronology(read.store, person_id=person_id, household_key=household, date_from=date_from,
                                 date_to=date_to, sources=sources, harm_only=harm_only,
                                 health_clearance=not no_health_clearance, export=fmt != "json", config=cfg,
                                 today=as_of)
        head = chron.get("person") or chron.get("household") or {}
        read.done(head.get("person_id") or subject, entries=len(chron["events"]), format=fmt)
        if fmt == "json":
            emit(chron)
        else:
            sys.stdout.write(to_csv(chron) if fmt == "csv" else to_html(chron))


@app.command()
def network(
    person_id: Annotated[str, typer.Argument(help="The person id, e.g. MI-00000042W (merged ids are followed).")],
    hops: Annotated[int, typer.Option("--hops", help="Person-to-person steps through shared events or households.")] = 2,
    fmt: Annotated[str, typer.Option("--format", help="json (Cytoscape.js elements), graphml or svg.")] = "json",
    out: Annotated[Optional[Path], typer.Option("--out", help="Write the view to this file (default: stdout).")] = None,
    purpose: PurposeOption = None,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """A person's network for MARAC. With --out, prints a JSON summary; without, the view itself."""
    cfg = edge_config(config)
    with audited_read(db, cfg, purpose, command="intel network", subject_kind="person", subject_id=person_id) as read:
        view = network_view(read.store, person_id, hops=hops, fmt=fmt, config=cfg)
        read.done(view["person_id"] if fmt == "json" else person_id, hops=hops, format=fmt)
    text = json.dumps(view, default=json_default, indent=2, ensure_ascii=False) if fmt == "json" else view
    if out is None:
        sys.stdout.write(text + ("" if text.endswith("\n") else "\n"))
        return
    try:   # as explain --html and export persons do: the folder is made if missing
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"--out {out}: cannot write the view there ({exc.strerror or exc})")
    emit({"person_id": view["person_id"] if fmt == "json" else person_id, "format": fmt, "out": out,
          "bytes": len(text.encode())})


@app.command()
def search(
    reference: Annotated[Optional[str], typer.Option("--reference", help="An agency's record, e.g. police:P00001033.")] = None,
    person_ref: Annotated[Optional[str], typer.Option("--person-ref", help="An agency's person reference.")] = None,
    forename: Annotated[Optional[str], typer.Option("--forename")] = None,
    surname: Annotated[Optional[str], typer.Option("--surname")] = None,
    dob: Annotated[Optional[str], typer.Option("--dob", help="1993-03-16 or 16/03/1993.")] = None,
    birth_year: Annotated[Optional[str], typer.Option("--birth-year", help="With a name, e.g. 1993.")] = None,
    postcode: Annotated[Optional[str], typer.Option("--postcode")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500)] = 20,
    purpose: PurposeOption = None,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Find a person by any one of: an agency reference, a person_ref, a postcode, a name with a birth
    year; or two of forename, surname, date of birth and postcode. Best first, names as recorded."""
    cfg = edge_config(config)
    query = {k: v for k, v in (("reference", reference), ("person_ref", person_ref), ("forename", forename),
                               ("surname", surname), ("dob", dob), ("birth_year", birth_year), ("postcode", postcode))
             if v not in (None, "")}
    with audited_read(db, cfg, purpose, command="intel search", subject_kind="search", subject_id=None) as read:
        if reference is not None:
            found = search_by_reference(read.store, reference)
        else:
            found = search_persons(read.store, person_ref=person_ref, forename=forename, surname=surname, dob=dob,
                                   birth_year=birth_year, postcode=postcode, limit=limit)
        read.done(query=query, returned=[c["person_id"] for c in found["candidates"]])
        emit(found)
