"""CLI reads of personal data are in the audit chain with the OS user and a purpose, which is
required (--purpose or $INTEL_PURPOSE): without one, exit 2 and every table as it was."""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys

import pytest

from access.audit_verify import verify
from core.store import Store
from tests.ingest.test_ingest import make_drop, police_rows


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "r.duckdb"
    with Store(path) as s:
        from ingest.drops import ingest_drop
        ingest_drop(s, make_drop(tmp_path / "d", {"police.csv": police_rows(3)}))
        s.execute("INSERT INTO persons VALUES ('MI-00000001B', 'active', NULL, now(), 'r')")
        s.execute("INSERT INTO person_mentions (mention_id, person_id, link_probability, confirmed) "
                  "SELECT mention_id, 'MI-00000001B', 1.0, FALSE FROM mentions")
    return path


def _intel(*args, purpose_env: str | None = None):
    env = {k: v for k, v in os.environ.items() if k != "INTEL_PURPOSE"}
    if purpose_env is not None:
        env["INTEL_PURPOSE"] = purpose_env
    return subprocess.run([sys.executable, "-m", "intel.cli", *args], capture_output=True, text=True, env=env)


READS = [["chronology", "MI-00000001B"], ["network", "MI-00000001B"], ["export", "persons", "--out", "{tmp}/p.csv"],
         ["explain", "police:R1", "police:R2"], ["alerts"], ["search", "--surname", "Smith", "--birth-year", "1990"],
         ["review"]]


@pytest.mark.parametrize("argv", READS, ids=lambda a: a[0])
def test_a_read_without_a_purpose_is_refused_and_changes_nothing(db, tmp_path, argv):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    with Store(db) as s:
        before = s.content_digest()
    from typer.testing import CliRunner

    from intel.cli import app

    for extra, env in (([], None), (["--purpose", "x"], None), ([], "  ")):
        done = CliRunner().invoke(app, [*argv, *extra, "--db", str(db)], env={"INTEL_PURPOSE": env})
        assert done.exit_code == 2 and "--purpose" in done.stderr, done.output
    with Store(db) as s:
        assert s.content_digest() == before


def test_reads_are_recorded_with_the_os_user_and_purpose_before_the_answer(db, tmp_path):
    assert _intel("chronology", "MI-00000001B", "--purpose", "strategy meeting 12 May", "--db", str(db)).returncode == 0
    assert _intel("export", "persons", "--out", str(tmp_path / "p.csv"), "--db", str(db),
                  purpose_env="quarterly data quality check").returncode == 0
    assert _intel("review", "--purpose", "weekly link review", "--db", str(db)).returncode == 0
    missing = _intel("chronology", "MI-99999999B", "--purpose", "a referral today", "--db", str(db))
    assert missing.returncode == 2
    with Store(db) as s:
        rows = s.rows("SELECT user_name, role, method, endpoint, subject_kind, subject_id, purpose, status, detail "
                      "FROM audit_log ORDER BY seq")
        assert verify(s)["ok"]
    who = f"cli:{getpass.getuser()}"
    assert [(r["user_name"], r["role"], r["endpoint"], r["subject_id"], r["purpose"], r["status"]) for r in rows] == [
        (who, "cli", "intel chronology", "MI-00000001B", "strategy meeting 12 May", 200),
        (who, "cli", "intel export persons", "persons", "quarterly data quality check", 200),
        (who, "cli", "intel review", None, "weekly link review", 200),
        (who, "cli", "intel chronology", "MI-99999999B", "a referral today", 404)]
    assert json.loads(rows[0]["detail"])["format"] == "json" and json.loads(rows[1]["detail"])["rows"] == 3
