"""Data in: ``intel ingest``, ``intel encode``, ``intel generate``, ``intel demo`` and ``intel upgrade``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from fixtures.world import generate_world
from ingest.drops import ingest_drop
from ingest.encode import encode_drop
from ingest.mapping import parse_mapping_options
from access.audit import open_chain
from core.store import SCHEMA_VERSION
from intel.cli.common import (ConfigOption, DbOption, edge_config, emit, fail, opened_store, refuse_missing_folder,
                              run_guarded)
from intel.demo import run_demo

app = typer.Typer()


@app.command()
def ingest(
    drop_dir: Annotated[Path, typer.Argument(help="The drop folder: police*.csv, social_care*.csv, health*.csv ...")],
    db: DbOption = None,
    mapping: Annotated[
        Optional[list[str]],
        typer.Option("--mapping", help="SOURCE=PROFILE.toml: map an agency's own export onto the contract."),
    ] = None,
    create: Annotated[bool, typer.Option("--create", help="Make the store if there is none at --db (its folder must exist).")] = False,
) -> None:
    """Validate and load a drop into the store (refused whole, with exit 2, if unusable)."""
    mappings = run_guarded(lambda: parse_mapping_options(mapping or []))
    if create:
        refuse_missing_folder(db)
    with opened_store(db, create=create) as store:
        emit(ingest_drop(store, drop_dir, mappings=mappings))


@app.command()
def init(db: DbOption = None, config: ConfigOption = None) -> None:
    """Make a new, empty store (and its audit key, mode 0600, and anchor: docs/audit.md)."""
    cfg = edge_config(config)
    path = refuse_missing_folder(db)
    if path.exists() or path.is_symlink():
        fail(f"{path} exists already: nothing was changed (a store is made once; use it with --db)")
    with opened_store(path, create=True) as store:
        keys, anchor = open_chain(store, cfg)
        emit({"store": store.path, "schema_version": SCHEMA_VERSION, "audit_key": keys.path,
              "audit_anchor": anchor.path})


@app.command()
def upgrade(db: DbOption = None) -> None:
    """Bring a store made by an older version up to this one's schema, in one transaction (any
    command that writes does the same on its way; this one only that). Version 2 gives person ids
    the MI- form; the old ids keep resolving (core/migrations.py)."""
    with opened_store(db) as store:
        emit({"store": store.path, "schema_version": SCHEMA_VERSION,
              "upgraded": store.upgraded or None,
              "note": None if store.upgraded else f"already at schema version {SCHEMA_VERSION}: nothing to do"})


@app.command()
def encode(
    drop_dir: Annotated[Path, typer.Argument(help="The agency's clear drop folder (the extract contract).")],
    out_dir: Annotated[Path, typer.Argument(help="A new folder for the encoded drop to send to the hub.")],
    key_file: Annotated[Optional[Path], typer.Option(
        "--key-file", help="The partners' shared linkage key (a file of >= 32 bytes of secret).")] = None,
    local: Annotated[Optional[Path], typer.Option(
        "--local", help="Folder the agency keeps (lookup.csv: record_id -> identity; rejected.csv). "
                        "Default: OUT_DIR.local beside OUT_DIR.")] = None,
) -> None:
    """Encode a drop before sending it: identifiers become keyed Bloom filters and tokens
    (docs/encoded-extracts.md); the identities stay in the agency's local lookup."""
    emit(run_guarded(lambda: encode_drop(drop_dir, out_dir, key_file, local)))


@app.command()
def generate(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write the drop and its ground truth into.")],
    households: Annotated[int, typer.Option(help="Number of households in the world.")] = 1000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same world.")] = 1,
    nightly_days: Annotated[int, typer.Option(
        help="Hold back the last N days' events as daily drops in OUT_DIR/nightly/YYYY-MM-DD/.")] = 0,
    noise: Annotated[str, typer.Option(
        help="Noise profile: standard, or hard (4 in 10 records without a dob, weak addresses).")] = "standard",
    uprn_rate: Annotated[Optional[float], typer.Option(
        help="Share of rows every agency sends with a UPRN (default: each agency's own rate).")] = None,
) -> None:
    """Write a deterministic synthetic safeguarding world: OUT_DIR/drop/ in the contract, OUT_DIR/truth/."""
    if households < 1:
        fail(f"--households must be at least 1, got {households}")
    if uprn_rate is not None and not 0.0 <= uprn_rate <= 1.0:
        fail(f"--uprn-rate must be between 0 and 1, got {uprn_rate}")
    emit(run_guarded(lambda: generate_world(out_dir, households=households, seed=seed, nightly_days=nightly_days,
                                            noise=noise, uprn_rate=uprn_rate)))


@app.command()
def demo(
    folder: Annotated[Path, typer.Option("--folder", help="Where to put the demo store and data.")] = Path("demo"),
    households: Annotated[int, typer.Option(help="World size (about 20 mentions per household).")] = 1000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
    config: ConfigOption = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="Erase a used demo store (users, decisions, alert actions).")] = False,
) -> None:
    """Generate a world, ingest it and run every later stage, then print what was found."""
    cfg = edge_config(config)
    emit(run_guarded(lambda: run_demo(folder, config=cfg, households=households, seed=seed, fresh=fresh)))
