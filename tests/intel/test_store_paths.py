"""Stores that are what they say: only `intel init` (or `ingest --create`) makes a store; every
other command - found by walking the CLI, so new ones are covered - refuses a path that is not an
existing store of this project with exit 2, a message and no traceback, creating and changing nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
import typer
from typer.testing import CliRunner

from intel.cli import app
from core.store import Store, StoreError

runner = CliRunner()


def _commands_with_db() -> list[tuple[list[str], Any]]:
    found = []

    def walk(cmd: Any, path: list[str]) -> None:
        if any(p.name == "db" for p in cmd.params):
            found.append((path, cmd))
        for name, sub in getattr(cmd, "commands", {}).items():   # typer vendors its own click: no isinstance
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return found


def _args(path: list[str], cmd: Any, folder: Path, db: Path) -> list[str]:
    """The command with a value for each required argument and option, and --db."""
    args = list(path)
    for p in cmd.params:
        if p.param_type_name == "argument" and p.required:
            args.append(str(folder) if p.name in ("drop_dir", "truth", "out_dir") else "MI-00000001B")
        elif p.param_type_name == "option" and p.required:
            args += [p.opts[0], {"--role": "analyst", "--out": str(folder / "out.csv")}.get(p.opts[0], "x")]
    return [*args, "--db", str(db)]


def _bad_paths(tmp_path: Path) -> dict[str, Path]:
    csv = tmp_path / "copy.csv"
    csv.write_text("record_id,event_id\nR1,E1\n")
    other = tmp_path / "other.duckdb"
    con = duckdb.connect(str(other))
    con.execute("CREATE TABLE t (a INTEGER)")
    con.close()
    newer = tmp_path / "newer.duckdb"
    with Store(newer) as s:
        s.execute("UPDATE store_meta SET schema_version = 999")
    return {"missing": tmp_path / "nothere.duckdb", "missing folder": tmp_path / "no" / "dir" / "s.duckdb",
            "csv": csv, "other duckdb": other, "newer schema": newer, "folder": tmp_path}


WHY = {"missing": "no store at", "missing folder": "no store at", "csv": "not a DuckDB database file",
       "other duckdb": "not a mash-intel store", "newer schema": "schema version 999", "folder": "is a folder"}


def test_every_command_refuses_a_path_that_is_not_a_store(tmp_path):
    bad = _bad_paths(tmp_path)
    snapshot = {k: (p.read_bytes() if p.is_file() else None) for k, p in bad.items()}
    folder = tmp_path / "arg"
    folder.mkdir()
    commands = _commands_with_db()
    names = {" ".join(p) for p, _ in commands}
    assert {"ingest", "serve", "alerts", "chronology", "audit", "users add", "nightly", "init"} <= names
    for path, cmd in commands:
        if path == ["init"]:
            continue
        for kind, db in bad.items():
            result = runner.invoke(app, _args(path, cmd, folder, db))
            where = f"`intel {' '.join(path)}` on {kind}"
            assert result.exit_code == 2, f"{where}: exit {result.exit_code}: {result.output}"
            assert WHY[kind] in result.stderr, f"{where}: {result.stderr}"
            assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), where
    for kind, p in bad.items():     # nothing made, nothing changed
        assert (p.read_bytes() if p.is_file() else None) == snapshot[kind], kind
    assert not (tmp_path / "nothere.duckdb").exists() and not (tmp_path / "no").exists()
    assert not any(tmp_path.glob("*.audit-key"))


def test_init_makes_a_store_once_with_its_audit_key_and_ingest_create_makes_one_too(tmp_path):
    db = tmp_path / "s.duckdb"
    done = runner.invoke(app, ["init", "--db", str(db)])
    assert done.exit_code == 0, done.output
    assert oct(Path(str(db) + ".audit-key").stat().st_mode & 0o777) == "0o600"
    with Store(db) as s:
        before = s.content_digest()
        assert s.scalar("SELECT schema_version FROM store_meta") >= 1
    again = runner.invoke(app, ["init", "--db", str(db)])
    assert again.exit_code == 2 and "exists already" in again.stderr
    with Store(db) as s:
        assert s.content_digest() == before
    nowhere = runner.invoke(app, ["init", "--db", str(tmp_path / "no" / "s.duckdb")])
    assert nowhere.exit_code == 2 and "does not exist: create it first" in nowhere.stderr
    assert not (tmp_path / "no").exists()
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "police.csv").write_text("record_id,event_id,event_date,role,event_type,forename,surname\n"
                                     "R1,E1,2024-01-01,victim,violence,Ann,Lee\n")
    made = runner.invoke(app, ["ingest", str(drop), "--db", str(tmp_path / "new.duckdb"), "--create"])
    assert made.exit_code == 0, made.output
    sub = tmp_path / "x"
    sub.mkdir()
    for kind, db in _bad_paths(sub).items():
        if kind == "missing":
            continue
        refused = runner.invoke(app, ["ingest", str(drop), "--db", str(db), "--create"])
        assert refused.exit_code == 2, (kind, refused.output)


def test_the_library_refuses_a_foreign_file_before_writing_to_it(tmp_path):
    csv = tmp_path / "copy.csv"
    csv.write_text("a,b\n1,2\n")
    with pytest.raises(StoreError, match="not a DuckDB database file"):
        Store(csv)
    assert csv.read_text() == "a,b\n1,2\n"


@pytest.mark.parametrize("argv", [["alerts", "--db", "{csv}"], ["serve", "--db", "{missing}"],
                                  ["chronology", "P1", "--db", "{csv}"]])
def test_no_traceback_reaches_the_user(tmp_path, argv):
    csv = tmp_path / "some.csv"
    csv.write_text("x\n")
    argv = [a.format(csv=csv, missing=tmp_path / "nothere.duckdb") for a in argv]
    done = subprocess.run([sys.executable, "-m", "intel.cli", *argv], capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.startswith("error: ") and "Traceback" not in done.stderr
