"""Run reports name no server path: GET /runs and GET /runs/{id} show a drop by its path in the
drops folder, the quarantine report by its path beside the store, and failures (errors and
tracebacks) with every other absolute path cut to its last part; `intel runs` shows the same
(the workspace's runs pages: tests/web/test_runs_page.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from intel.cli import app as cli
from tests.api.conftest import ENGINE, Clients, row, write_drop

REPO = Path(__file__).resolve().parents[2]
ABSOLUTE = re.compile(r"(?<![\w.~:/-])/(?:tmp|work|root|home|usr|srv|var|etc|opt)/")


def _absolute_paths(text: str, *folders: Path) -> list[str]:
    found = [str(f) for f in folders if str(f) in text or str(f.resolve()) in text]
    return found + ABSOLUTE.findall(text)


def _run(api: Clients, drop: str) -> dict:
    r = api.post("admin", "/runs", {"drop_dir": drop})
    assert r.status_code == 202, r.text
    api.app.state.runs.wait(60)
    return api.get("admin", f"/runs/{r.json()['run_id']}", purpose=False).json()


def test_a_run_shows_its_drop_and_quarantine_report_relative_to_their_folders(api, db_copy):
    bad = row("police", record_id="P9", event_id="E9", event_date="not a date", role="victim")
    write_drop(db_copy.parent / "drops" / "2026-11-01" / "night", {"police_3.csv": [bad]})
    done = _run(api, "2026-11-01/night")
    assert done["status"] == "completed"
    assert done["drop_path"] == "2026-11-01/night" and done["report"]["drop"] == "2026-11-01/night"
    q = done["report"]["stages"]["ingest"]["quarantine_report"]
    assert re.fullmatch(r"reports/night-[0-9a-f]{16}/quarantine\.csv", q), q
    assert (db_copy.parent / q).is_file()    # what an admin needs to find it: beside the store
    listed = api.get("admin", "/runs", purpose=False).json()["items"]
    # the base store's first run read a folder outside the drops folder: its last part only
    assert [r["drop_path"] for r in listed] == ["2026-11-01/night", "…/drop1"]
    text = json.dumps(listed) + json.dumps(done)
    assert not _absolute_paths(text, db_copy.parent, REPO)


def test_a_failed_runs_error_and_traceback_name_no_server_path(world, db_copy):
    from api.app import create_app

    (db_copy.parent / "drops" / "empty").mkdir(parents=True)
    app = create_app(db_copy, run_options={"link_engine": ENGINE, "fault_after_stage": "link"})
    try:
        with TestClient(app) as client:
            api = Clients(client=client, app=app, tokens=world["tokens"], world=world)
            empty = _run(api, "empty")     # refused by ingest: its message named the folder
            assert empty["status"] == "failed"
            assert "drop folder empty holds no police" in empty["error"], empty["error"]
            fault = _run(api, "drop2")     # a failure with a traceback (file names of the code)
            assert fault["status"] == "failed" and 'File "…/runs.py", line' in fault["report"]["traceback"]
            listed = api.get("admin", "/runs", purpose=False).text
            for text in (json.dumps(empty), json.dumps(fault), listed):
                assert not _absolute_paths(text, db_copy.parent, REPO), text[:2000]
    finally:
        app.state.runs.wait(60)
        app.state.snapshot.wait(60)
        app.state.audit_queue.close()
        app.state.store.close()
    # the operator's copy in the store keeps the whole path (for the host, not for a role)
    from core.store import Store
    with Store(db_copy) as store:
        assert str((db_copy.parent / "drops" / "empty").resolve()) in store.scalar(
            "SELECT error FROM runs WHERE drop_path LIKE '%empty'")


@pytest.mark.parametrize("one", [False, True])
def test_intel_runs_shows_the_same(world, db_copy, one):
    args = ["runs", "--db", str(db_copy)]
    if one:
        from core.store import Store
        with Store(db_copy) as store:
            args.insert(1, store.scalar("SELECT run_id FROM runs"))
    done = CliRunner().invoke(cli, args)
    assert done.exit_code == 0, done.output
    assert "…/drop1" in done.output
    assert not _absolute_paths(done.output, db_copy.parent, REPO)
