"""intel metrics: each format, --out, and broken arguments (exit 2, a message, the store as it was)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from intel.cli import app
from core.store import Store
from tests.findings.metrics_hub import build_hub

runner = CliRunner()


@pytest.fixture(scope="module")
def hub(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("cli") / "hub.duckdb"
    with Store(db) as store:
        build_hub(store)
    return db


def _run(hub: Path, *args: str):
    return runner.invoke(app, ["metrics", "--db", str(hub), *args])


def test_json_csv_and_html(hub: Path, tmp_path: Path) -> None:
    r = _run(hub, "--from", "2026-01-01", "--to", "2026-03-31", "--by", "quarter")
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert [p["label"] for p in report["report"]["periods"]] == ["2026-Q1"]
    r = _run(hub, "--from", "2026-01-01", "--to", "2026-03-31", "--format", "csv")
    assert r.exit_code == 0 and r.stdout.lstrip("\ufeff").startswith("metric,section,title,period")
    r = _run(hub, "--from", "2026-01-01", "--to", "2026-03-31", "--format", "html", "--out", str(tmp_path / "m.html"))
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert summary["format"] == "html" and summary["unavailable"] == {} and summary["empty"] is False
    assert (tmp_path / "m.html").read_text().startswith("<!DOCTYPE html>")


def test_an_empty_period_is_a_report_not_an_error(hub: Path) -> None:
    r = _run(hub, "--from", "2031-01-01", "--to", "2031-01-31")
    assert r.exit_code == 0 and json.loads(r.stdout)["report"]["empty"] is True


@pytest.mark.parametrize("args, message", [
    (["--from", "2026-03-01", "--to", "2026-01-01"], "--from 2026-03-01 is after --to 2026-01-01"),
    (["--by", "fortnight"], "--by 'fortnight' is not a period; use one of: month, quarter"),
    (["--format", "xlsx"], "--format 'xlsx' is not a report format"),
    (["--from", "yesterday"], "--from 'yesterday' is not a date (YYYY-MM-DD)"),
    (["--out", "/no/such/folder/m.html"], "the folder /no/such/folder does not exist"),
])
def test_broken_arguments_exit_2_with_a_message_and_change_nothing(hub: Path, args: list[str], message: str) -> None:
    with Store(hub, read_only=True) as store:
        before = store.content_digest()
    r = _run(hub, *args)
    assert r.exit_code == 2 and message in r.output + r.stderr, r.output
    with Store(hub, read_only=True) as store:
        assert store.content_digest() == before
