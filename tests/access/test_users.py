"""Users: tokens shown once and stored only as a hash, roles checked, revocation at once."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest

from core.errors import Conflict, IntelError, NotFound
from access.users import add_user, authenticate, list_users, revoke_user
from core.config import load_config

CONFIG = load_config()


def test_token_is_returned_once_and_only_its_hash_is_stored(store):
    u = add_user(store, "alice", "analyst", config=CONFIG)
    assert len(u["token"]) >= 40
    row = store.rows("SELECT * FROM users")[0]
    assert row["token_sha256"] == hashlib.sha256(u["token"].encode()).hexdigest()
    assert u["token"] not in str(store.rows("SELECT * FROM users"))
    assert authenticate(store, u["token"]) == {"name": "alice", "role": "analyst"}
    assert authenticate(store, u["token"][:-1] + "x") is None
    assert authenticate(store, "") is None and authenticate(store, None) is None
    assert add_user(store, "bob", "marac", config=CONFIG)["token"] != u["token"]


def test_bad_names_roles_and_duplicates_are_refused(store):
    with pytest.raises(IntelError, match="role must be one of"):
        add_user(store, "alice", "superuser", config=CONFIG)
    with pytest.raises(IntelError, match="user name"):
        add_user(store, "alice smith", "analyst", config=CONFIG)
    add_user(store, "alice", "analyst", config=CONFIG)
    with pytest.raises(Conflict):
        add_user(store, "alice", "admin", config=CONFIG)


def test_revoke_stops_the_token_and_keeps_the_row(store):
    u = add_user(store, "alice", "analyst", config=CONFIG)
    revoke_user(store, "alice", by="admin1")
    assert authenticate(store, u["token"]) is None
    assert list_users(store)[0]["revoked_by"] == "admin1"
    with pytest.raises(NotFound):
        revoke_user(store, "alice")
    again = add_user(store, "alice", "marac", config=CONFIG)  # a new token after revocation
    assert authenticate(store, again["token"])["role"] == "marac"


def test_cli_prints_the_token_alone_on_the_last_line(tmp_path):
    db = tmp_path / "c.duckdb"
    out = subprocess.run([sys.executable, "-m", "intel.cli", "users", "add", "carol", "--role", "admin", "--db", str(db)],
                         capture_output=True, text=True, check=True).stdout
    *json_part, token = out.rstrip("\n").split("\n")
    assert '"role": "admin"' in "\n".join(json_part) and token and " " not in token and token not in "\n".join(json_part)
    bad = subprocess.run([sys.executable, "-m", "intel.cli", "users", "add", "dave", "--role", "root", "--db", str(db)],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "role must be one of" in bad.stderr
    revoked = subprocess.run([sys.executable, "-m", "intel.cli", "users", "revoke", "carol", "--db", str(db)],
                             capture_output=True, text=True)
    assert revoked.returncode == 0 and "revoked_at" in revoked.stdout
