"""The command line as a whole: generate, demo end to end, and broken arguments."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from intel.cli import app

runner = CliRunner()


def test_generate_writes_a_drop_and_truth_and_refuses_bad_sizes(tmp_path: Path) -> None:
    result = runner.invoke(app, ["generate", str(tmp_path / "w"), "--households", "20", "--seed", "3",
                                 "--nightly-days", "2"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["households"] == 20 and summary["mentions"]["total"] > 0
    assert sorted(p.name for p in (tmp_path / "w" / "drop").iterdir()) == [
        "health.csv", "manifest.json", "police.csv", "social_care.csv"]
    assert len(list((tmp_path / "w" / "nightly").iterdir())) == 2
    for args, message in [(["--households", "0"], "--households must be at least 1"),
                          (["--nightly-days", "999"], "nightly_days must be between 0 and 365"),
                          (["--households", "many"], "Invalid value")]:
        result = runner.invoke(app, ["generate", str(tmp_path / "x"), *args])
        assert result.exit_code == 2, args
        assert message in result.output + result.stderr, (args, result.output)


def test_unknown_command_and_missing_argument_exit_2() -> None:
    assert runner.invoke(app, ["frobnicate"]).exit_code == 2
    result = runner.invoke(app, ["ingest"])
    assert result.exit_code == 2 and "Missing argument" in result.output + result.stderr


def test_demo_runs_every_stage_and_ends_with_alerts_and_a_chronology(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--folder", str(tmp_path / "demo"), "--households", "120", "--seed", "5"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    run = report["stages"]["nightly run"]["result"]["stages"]
    assert set(run) == {"ingest", "link", "analytics", "alerts"}
    assert run["ingest"]["loaded"] == report["stages"]["generate"]["result"]["mentions"]["total"]
    assert run["link"]["mode"] == "full" and run["link"]["persons_active"] > 0
    assert report["alerts"]["new"] == sum(report["alerts"]["by_rule"].values()) > 0
    chron = report["chronology"]
    assert chron["events"] and chron["person"]["person_id"]
    dates = [e["event_date"] for e in chron["events"]]
    assert dates == sorted(dates)


def test_serve_starts_one_process_without_a_server_header_and_commits_the_audit_on_exit(tmp_path: Path,
                                                                                      monkeypatch) -> None:
    import uvicorn

    seen = {}

    def fake_run(application, **kw):
        seen.update(kw, app=application)

    monkeypatch.setattr(uvicorn, "run", fake_run)
    assert runner.invoke(app, ["init", "--db", str(tmp_path / "s.duckdb")]).exit_code == 0
    result = runner.invoke(app, ["serve", "--db", str(tmp_path / "s.duckdb"), "--port", "18999"])
    assert result.exit_code == 0, result.output
    assert seen["port"] == 18999 and seen["host"] == "127.0.0.1" and seen["workers"] == 1
    assert seen["server_header"] is False and seen["proxy_headers"] is False
    assert not seen["app"].state.audit_queue._thread.is_alive()   # closed once the server returned
    seen["app"].state.store.close()
