"""Person ids on the command line: old ids (before schema version 2) answer for their person,
`intel upgrade` migrates a store once, and text that is no person id is exit 2 naming what is
wrong, with every table as it was."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from core.config import load_config
from core.store import Store
from findings.runs import run_nightly
from intel.cli import app
from tests.api.conftest import first_drop, write_drop
from tests.old_form_store import downgrade, raw_digest
from tests.stand_in_scorer import rules_engine

PURPOSE = ["--purpose", "strategy meeting for a referral"]


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    base = tmp_path_factory.mktemp("cli_ids")
    new = base / "new.duckdb"
    with Store(new) as store:
        run_nightly(store, write_drop(base / "drop", first_drop()), config=load_config(),
                    link_engine=rules_engine(four=0.99999, three=0.9999))
        people = dict(store.df("SELECT m.mention_id, pm.person_id FROM person_mentions pm "
                               "JOIN mentions m USING (mention_id)").rows())
    old = base / "old.duckdb"
    shutil.copy(new, old)
    downgrade(old)
    return {"old": old, "sarah": people["police:P1"]}


@pytest.fixture
def old_db(made, tmp_path):
    db = tmp_path / "old.duckdb"
    shutil.copy(made["old"], db)
    return db


def _run(*args):
    done = CliRunner().invoke(app, [str(a) for a in args])
    return done, (json.loads(done.stdout) if done.exit_code == 0 else None)


def test_upgrade_migrates_once_and_a_read_only_command_says_to_run_it(made, old_db):
    done, _ = _run("runs", "--db", old_db)                      # read-only: cannot migrate, says how
    assert done.exit_code == 2 and f"intel upgrade --db {old_db}" in done.stderr
    done, out = _run("upgrade", "--db", old_db)
    assert out["upgraded"]["from_version"] == 1 and out["upgraded"]["steps"]["2"]["person_ids_rewritten"] > 0
    done, out = _run("upgrade", "--db", old_db)
    assert out["upgraded"] is None and "nothing to do" in out["note"]
    assert _run("runs", "--db", old_db)[0].exit_code == 0


def test_old_ids_answer_for_their_person(made, old_db):
    sarah = made["sarah"]
    old = "P" + sarah[3:11]
    _, chron = _run("chronology", old, "--db", old_db, *PURPOSE)     # the first command migrates the store
    assert chron["person"]["person_id"] == sarah and chron["person"]["requested_id"] == old
    assert chron["person"]["note"].startswith(f"{old} is the old form of the person id {sarah}")
    _, net = _run("network", old, "--hops", "1", "--db", old_db, *PURPOSE)
    assert net["person_id"] == sarah
    _, by_old = _run("alerts", "--person", old, "--status", "all", "--db", old_db, *PURPOSE)
    _, by_new = _run("alerts", "--person", sarah.lower(), "--status", "all", "--db", old_db, *PURPOSE)
    assert by_old["total"] and by_old == by_new


@pytest.mark.parametrize("bad, words", [("nobody", "person ids are MI- followed"), ("police:P1", "agency record reference"),
                                        ("MI-123", "exactly 8 digits")])
def test_malformed_ids_exit_2_and_change_nothing(made, old_db, bad, words):
    Store(old_db, create=False).close()                      # migrated first: the refusals must not write
    before = raw_digest(old_db)
    typo = made["sarah"][:-1] + ("A" if made["sarah"][-1] != "A" else "B")
    for argv in (["chronology", bad], ["network", bad], ["alerts", "--person", bad], ["audit", "--person", bad],
                 ["chronology", typo]):
        done, _ = _run(*argv, "--db", old_db, *PURPOSE) if argv[0] != "audit" else _run(*argv, "--db", old_db)
        assert done.exit_code == 2, (argv, done.output)
        assert (words if argv[-1] == bad else "wrong check letter") in done.stderr, (argv, done.stderr)
    after = raw_digest(old_db)
    assert after.pop("audit_log") != before.pop("audit_log")   # each refused read is in the audit log ...
    assert after == before                                     # ... and nothing else changed
