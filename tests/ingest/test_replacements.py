"""Replacements that cannot lose data, and field length limits: each refusal leaves every table
of the store as it was."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from intel.cli import app
from core.errors import IntelError
from ingest.drops import ingest_drop
from tests.ingest.test_ingest import make_drop, police_rows, row, write_csv


def _first(store, tmp_path: Path) -> list[dict]:
    rows = police_rows(5)
    rows[0]["restriction"] = "hub_only"
    rows[1]["dash_risk"] = "high"
    rows[1]["event_type"] = "domestic_abuse"
    ingest_drop(store, make_drop(tmp_path / "d1", {"police.csv": rows}))
    return rows


def _resend(tmp_path: Path, rows: list[dict], drop_columns: set[str], manifest: dict | None = None,
            name: str = "d2") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    for r in rows:
        r["forename"] = r["forename"] + "x"        # a real change, so the file is new
    write_csv(folder / "police.csv", rows, [c for c in rows[0] if c not in drop_columns])
    if manifest is not None:
        (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


@pytest.mark.parametrize("column,count", [("surname", 5), ("restriction", 1), ("dash_risk", 1)])
def test_a_resent_file_without_a_column_the_replaced_rows_hold_is_refused_whole(store, tmp_path, column, count):
    rows = _first(store, tmp_path)
    before = store.content_digest()
    with pytest.raises(IntelError, match=rf"police.csv: no {column} column, but the rows it replaces hold {count} "
                                         rf"{column} value.*withdrawn_columns.*Nothing was loaded"):
        ingest_drop(store, _resend(tmp_path, rows, {column}))
    assert store.content_digest() == before


def test_the_cli_refuses_it_with_exit_2_and_the_store_unchanged(store, tmp_path):
    rows = _first(store, tmp_path)
    before = store.content_digest()
    drop = _resend(tmp_path, rows, {"surname", "sex"})
    store.close()
    done = CliRunner().invoke(app, ["ingest", str(drop), "--db", str(tmp_path / "test.duckdb")])
    assert done.exit_code == 2 and "no surname column" in done.output and "no sex column" in done.output
    from core.store import Store
    with Store(tmp_path / "test.duckdb") as again:
        assert again.content_digest() == before


def test_a_column_withdrawn_in_the_manifest_is_erased_on_purpose(store, tmp_path):
    rows = _first(store, tmp_path)
    drop = _resend(tmp_path, rows, {"surname"}, {"files": {"police.csv": {"withdrawn_columns": ["surname"]}}})
    out = ingest_drop(store, drop)
    assert out["replaced"] == 5
    assert store.scalar("SELECT count(*) FROM mentions WHERE surname_raw IS NOT NULL") == 0
    assert store.scalar("SELECT count(*) FROM mentions_history WHERE surname_raw IS NOT NULL") == 5


def test_new_records_without_an_optional_column_still_load(store, tmp_path):
    """Only replacements are checked: version 1 drops load as they always did."""
    rows = police_rows(3)
    folder = tmp_path / "new"
    folder.mkdir()
    write_csv(folder / "police.csv", rows, [c for c in rows[0] if c not in ("surname", "dash_risk")])
    assert ingest_drop(store, folder)["loaded"] == 3


def test_a_bad_withdrawal_is_refused(store, tmp_path):
    rows = _first(store, tmp_path)
    before = store.content_digest()
    for manifest, why in (({"files": {"police.csv": {"withdrawn_columns": "surname"}}}, "must be a list"),
                          ({"files": {"police.csv": {"withdrawn_columns": ["forename"]}}}, "has that column")):
        with pytest.raises(IntelError, match=why):
            ingest_drop(store, _resend(tmp_path, [dict(r) for r in rows], set(), manifest, name=why.replace(" ", "_")))
        assert store.content_digest() == before


def test_values_over_their_length_limit_go_to_quarantine_cut_short(store, tmp_path):
    huge = "A" * 1_000_000
    drop = make_drop(tmp_path / "big", {"police.csv": [row("police", record_id="R1", surname=huge),
                                                      row("police", record_id="R2", event_id="E2")]})
    out = ingest_drop(store, drop)
    assert out["loaded"] == 1 and out["rejected"] == 1
    q = store.rows("SELECT column_name, reason, raw_row FROM quarantine")
    assert [(r["column_name"], r["reason"]) for r in q] == [
        ("surname", "surname is 1000000 characters long; the contract allows at most 100")]
    assert len(q[0]["raw_row"]) < 2000 and json.loads(q[0]["raw_row"])["surname"] == "A" * 100
    assert store.scalar("SELECT max(length(surname_raw)) FROM mentions") < 100
