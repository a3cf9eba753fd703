"""The command line as a whole: generate, demo end to end, and broken arguments."""

from __future__ import annotations

import json
import shlex
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
                          (["--households", "many"], "Invalid value"),
                          (["--uprn-rate", "2"], "--uprn-rate must be between 0 and 1, got 2.0")]:
        result = runner.invoke(app, ["generate", str(tmp_path / "x"), *args])
        assert result.exit_code == 2, args
        assert message in result.output + result.stderr, (args, result.output)


def test_unknown_command_and_missing_argument_exit_2() -> None:
    assert runner.invoke(app, ["frobnicate"]).exit_code == 2
    result = runner.invoke(app, ["ingest"])
    assert result.exit_code == 2 and "Missing argument" in result.output + result.stderr


def test_demo_runs_every_stage_and_ends_with_alerts_and_a_chronology(tmp_path: Path, monkeypatch) -> None:
    result = runner.invoke(app, ["demo", "--folder", str(tmp_path / "demo"), "--households", "120", "--seed", "5"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    run = report["stages"]["nightly run"]["result"]["stages"]
    assert set(run) == {"ingest", "link", "analytics", "alerts"}
    assert run["ingest"]["loaded"] == report["stages"]["generate"]["result"]["mentions"]["total"]
    assert run["link"]["mode"] == "full" and run["link"]["persons_active"] > 0
    assert report["alerts"]["open"] == sum(report["alerts"]["by_rule"].values()) > 0
    assert report["alerts"]["baseline"] and "baseline" in report["alerts"]["note"]   # a first load
    assert any("intel alerts" in n for n in report["next"])
    chron = report["chronology"]
    assert chron["events"] and chron["person"]["person_id"]
    dates = [e["event_date"] for e in chron["events"]]
    assert dates == sorted(dates)
    # every command the demo suggests works as printed, for a user who has set no INTEL_PURPOSE
    with monkeypatch.context() as env:
        env.delenv("INTEL_PURPOSE", raising=False)
        for hint in (n for n in report["next"] if n.startswith("intel ")):
            followed = runner.invoke(app, shlex.split(hint)[1:])
            assert followed.exit_code == 0, (hint, followed.output, followed.stderr)
    # the README's next command, where ./run demo was run, reads the demo's store
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("INTEL_DB", raising=False)
    listed = runner.invoke(app, ["alerts", "--status", "open"])
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout)["total"] == report["alerts"]["open"]
    # search by an agency reference (the README's first question about a record)
    found = json.loads(runner.invoke(app, ["search", "--reference", "police:P00000001", "--purpose", "testing the demo store"]).stdout)
    assert found["total"] == 1 and found["candidates"][0]["person_id"]
    fishing = runner.invoke(app, ["search", "--surname", "Smith", "--purpose", "testing the demo store"])
    assert fishing.exit_code == 2 and "give one of" in fishing.stderr
    # a demo store someone has used is not erased by running the demo again
    assert runner.invoke(app, ["users", "add", "alice", "--role", "analyst", "--db", "demo/intel.duckdb"]).exit_code == 0
    before = (tmp_path / "demo" / "intel.duckdb").read_bytes()
    again = runner.invoke(app, ["demo", "--folder", "demo", "--households", "120", "--seed", "5"])
    assert again.exit_code == 2 and "holds 1 user" in again.output + again.stderr and "--fresh" in again.stderr
    assert (tmp_path / "demo" / "intel.duckdb").read_bytes() == before


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


def test_encode_then_ingest_and_bad_keys_exit_2(tmp_path: Path) -> None:
    assert runner.invoke(app, ["generate", str(tmp_path / "w"), "--households", "8", "--seed", "2"]).exit_code == 0
    (tmp_path / "k.key").write_text("9e" * 32)
    (tmp_path / "short.key").write_text("short")
    for args, message in [([], "--key-file is required"), (["--key-file", str(tmp_path / "none.key")], "does not exist"),
                          (["--key-file", str(tmp_path / "short.key")], "at least 32 bytes")]:
        result = runner.invoke(app, ["encode", str(tmp_path / "w" / "drop"), str(tmp_path / "enc"), *args])
        assert result.exit_code == 2 and message in result.output + result.stderr, (args, result.output)
        assert not (tmp_path / "enc").exists()
    result = runner.invoke(app, ["encode", str(tmp_path / "w" / "drop"), str(tmp_path / "enc"),
                                 "--key-file", str(tmp_path / "k.key")])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["encoded"] > 0 and (tmp_path / "enc.local" / "lookup.csv").exists()
    result = runner.invoke(app, ["ingest", str(tmp_path / "enc"), "--db", str(tmp_path / "s.duckdb"), "--create"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["ingest", str(tmp_path / "w" / "drop"), "--db", str(tmp_path / "s.duckdb")])
    assert result.exit_code == 2 and "links encoded identifiers" in result.output + result.stderr


def test_splinks_untrained_level_warnings_are_said_once_in_words(capsys) -> None:
    import logging

    from intel.demo import _untrained_levels_explained_once

    log = logging.getLogger("splink.internals.expectation_maximisation")
    with _untrained_levels_explained_once() as note:
        for _ in range(3):   # once per EM pass, for two levels
            log.warning("WARNING:\nLevel year only on comparison dob not observed in dataset, unable to train m value")
            log.warning("WARNING:\nLevel same initial on comparison forename not observed in dataset, unable to train m value")
    assert len(note) == 1 and "2 comparison level(s) (dob: year only; forename: same initial)" in note[0]
    assert capsys.readouterr().err.count("Splink could not train") == 1
