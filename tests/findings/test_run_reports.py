"""What a run report shows of paths: relative to the drops folder or the store's folder, else the
last part only; dates, URLs and API routes left as they are."""

from __future__ import annotations

import os

from findings.run_reports import RunPaths, drops_folder, shown


def test_paths_are_shown_relative_to_the_drops_folder_or_the_stores(tmp_path):
    home = tmp_path / "hub data"          # a space in a folder's name
    (home / "drops").mkdir(parents=True)
    os.symlink(home, tmp_path / "link")   # the store opened through a link: both spellings known
    paths = RunPaths(tmp_path / "link" / "s.duckdb", {"api": {"drops_folder": ""}})
    run = {"drop_path": str(home / "drops" / "2026-10-31"),
           "report": {"stages": {"ingest": {"quarantine_report": str(home / "reports" / "d-1" / "quarantine.csv")}},
                      "drop": str(tmp_path / "link" / "drops" / "2026-10-31"), "n": 3, "none": None},
           "error": f"IntelError in stage ingest: drop folder {home}/drops/empty holds no police* file",
           "traceback": 'File "/usr/lib/python3/x.py", line 3\nPermissionError: \'/srv/secret/police.csv\'',
           "note": "see /runs/run-1 at https://hub.example/w/runs on 31/10/2026, ratio 1 / 2"}
    assert shown(run, paths) == {
        "drop_path": "2026-10-31",
        "report": {"stages": {"ingest": {"quarantine_report": "reports/d-1/quarantine.csv"}}, "drop": "2026-10-31",
                   "n": 3, "none": None},
        "error": "IntelError in stage ingest: drop folder empty holds no police* file",
        "traceback": 'File "…/x.py", line 3\nPermissionError: \'…/police.csv\'',
        "note": "see …/run-1 at https://hub.example/w/runs on 31/10/2026, ratio 1 / 2"}


def test_a_configured_drops_folder_elsewhere(tmp_path):
    elsewhere = tmp_path / "incoming"
    paths = RunPaths(tmp_path / "store" / "s.duckdb", {"api": {"drops_folder": str(elsewhere)}})
    assert drops_folder(tmp_path / "store" / "s.duckdb", {"api": {"drops_folder": str(elsewhere)}}) == elsewhere
    assert shown(str(elsewhere / "n1"), paths) == "n1"
    assert shown(str(tmp_path / "store" / "reports" / "q.csv"), paths) == "reports/q.csv"
    assert shown(str(tmp_path / "other" / "n2"), paths) == "…/n2"
