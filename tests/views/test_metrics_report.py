"""The metrics report as HTML (charts inline, nothing fetched), long CSV and JSON."""

from __future__ import annotations

import copy
import csv
import io
import json
import re
from pathlib import Path

import pytest

from findings.metrics import compute_hub_metrics
from core.config import load_config
from core.errors import IntelError
from core.store import Store
from tests.findings.metrics_hub import build_hub
from views.metrics_report import CSV_COLUMNS, render, write_report


@pytest.fixture(scope="module")
def hub(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("r") / "hub.duckdb"
    with Store(db) as store:
        build_hub(store)
    return db


def _compute(hub: Path, threshold: int) -> dict:
    cfg = copy.deepcopy(load_config())
    cfg["metrics"]["small_count_threshold"] = threshold
    with Store(hub, read_only=True) as store:
        return compute_hub_metrics(store, cfg, date_from="2026-01-01", date_to="2026-03-31")


@pytest.fixture(scope="module")
def report(hub: Path) -> dict:
    return _compute(hub, 5)


def test_html_has_a_chart_and_a_table_per_metric_and_fetches_nothing(hub: Path, report) -> None:
    page = render(_compute(hub, 1), "html")
    charted = [m for m in report["metrics"] if m["chart"].get("kind") != "none"]
    assert page.count("<svg") == len(charted) and page.count("<table>") == len(report["metrics"])
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)   # no network: every asset inline
    assert "<script" not in page
    assert "2026-01-01</b> to <b>2026-03-31" in page
    # the hand-built hub is small: with the default threshold most counts are shown as c, and
    # a chart with nothing left to draw says so
    page = render(report, "html")
    assert "title='suppressed: a small number'>c</td>" in page
    assert "No chart: every value in it is zero or suppressed." in page


def test_csv_is_long_with_one_figure_a_row(report) -> None:
    text = render(report, "csv")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert tuple(rows[0]) == CSV_COLUMNS
    police_jan = [r for r in rows if r["metric"] == "demand_by_agency" and r["period"] == "2026-01"
                  and r["category"] == "all"]
    assert police_jan == [{**police_jan[0], "value": "5", "status": "", "period_start": "2026-01-01",
                           "period_end": "2026-01-31", "measure": "events", "unit": "count"}]
    hidden = [r for r in rows if r["status"] == "suppressed"]
    assert hidden and all(r["value"] == "" for r in hidden)


def test_json_round_trips(report) -> None:
    assert json.loads(render(report, "json")) == json.loads(json.dumps(report))


def test_an_unavailable_metric_says_why_in_every_format(report) -> None:
    m = next(m for m in report["metrics"] if m["id"] == "timeliness")
    changed = {**report, "metrics": [{**m, "available": False, "reason": "no contact has an initial RAG", "rows": []}]}
    assert "Not available: no contact has an initial RAG." in render(changed, "html")
    assert "unavailable: no contact has an initial RAG" in render(changed, "csv")


def test_bad_format_and_out_are_refused(report, tmp_path: Path) -> None:
    with pytest.raises(IntelError, match="--format 'pdf' is not a report format; use one of: json, csv, html"):
        render(report, "pdf")
    with pytest.raises(IntelError, match="is a folder"):
        write_report(report, "x", tmp_path, "html")
    with pytest.raises(IntelError, match="does not exist"):
        write_report(report, "x", tmp_path / "no" / "r.html", "html")
    summary = write_report(report, "x", tmp_path / "r.html", "html")
    assert summary["out"] == str(tmp_path / "r.html") and (tmp_path / "r.html").read_text() == "x"
    assert not list(tmp_path.glob(".*.tmp"))
