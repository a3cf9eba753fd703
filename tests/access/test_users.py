"""Users: tokens shown once and stored only as a hash, roles checked, revocation at once."""

from __future__ import annotations

import copy
import hashlib
import os
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
    subprocess.run([sys.executable, "-m", "intel.cli", "init", "--db", str(db)], check=True, capture_output=True)
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


def test_tokens_expire_and_rotation_issues_a_new_one(tmp_path):
    """A token works for [api] token_days (default 90); `intel users rotate` replaces it, the old
    one stops at once; expired tokens are refused by the server's in-memory users too."""
    from datetime import timedelta

    from core.store import Store
    from access.users import ActiveUsers, add_user, authenticate, rotate_user

    db = tmp_path / "t.duckdb"
    with Store(db) as s:
        u = add_user(s, "alice", "analyst", config={"api": {"roles": {"analyst": {}}, "token_days": 90}})
        assert (u["expires_at"] - u["created_at"]) == timedelta(days=90)
        active = ActiveUsers(s)
        assert authenticate(s, u["token"]) and active.authenticate(u["token"])
        s.execute("UPDATE users SET expires_at = now()::TIMESTAMP - INTERVAL 1 SECOND")
        active.reload(s)
        assert authenticate(s, u["token"]) is None and active.authenticate(u["token"]) is None
        s.execute("UPDATE users SET expires_at = NULL, created_at = created_at - INTERVAL 91 DAY")   # a pre-expiry row
        assert authenticate(s, u["token"]) is None
        with pytest.raises(IntelError, match="token_days"):
            rotate_user(s, "alice", config={"api": {"token_days": 0}})
    out = subprocess.run([sys.executable, "-m", "intel.cli", "users", "rotate", "alice", "--db", str(db)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    token = out.stdout.rstrip("\n").split("\n")[-1]
    with Store(db) as s:
        assert authenticate(s, token) == {"name": "alice", "role": "analyst"} and authenticate(s, u["token"]) is None
        assert [r["revoked_by"] for r in s.rows("SELECT revoked_by FROM users ORDER BY created_at")][0].startswith("rotated")
        assert s.scalar("SELECT count(*) FROM audit_log WHERE endpoint = 'intel users rotate'") == 1
        before = s.content_digest()
    gone = subprocess.run([sys.executable, "-m", "intel.cli", "users", "rotate", "nobody", "--db", str(db)],
                          capture_output=True, text=True)
    assert gone.returncode == 2 and "no active user 'nobody'" in gone.stderr
    with Store(db) as s:
        assert s.content_digest() == before


@pytest.mark.parametrize("role, why", [
    ({"rights": ["chronology", "person"], "health_clearance": False}, "need health_clearance = true"),
    ({"rights": ["decide"], "health_clearance": True, "domestic_abuse_only": True}, "domestic_abuse_only = false"),
    ({"rights": ["explain"]}, "read every record of a person"),
    ({"rights": ["chronology", "persons"], "health_clearance": True}, "unknown persons"),
    ({"rights": "search", "health_clearance": True}, "must be a list of names"),
])
def test_a_role_that_could_read_hidden_records_is_refused_by_name(role, why):
    # person, decide and explain read a person's records as the linkage sees them, through no lens
    from access.users import roles
    config = copy.deepcopy(load_config())
    config["api"]["roles"]["liaison"] = role
    with pytest.raises(IntelError) as refused:
        roles(config)
    assert "[api.roles.liaison]" in str(refused.value) and why in str(refused.value)


def test_the_shipped_roles_pass_the_check():
    from access.users import roles
    assert set(roles(load_config())) >= {"analyst", "marac", "admin", "manager"}


def test_intel_serve_refuses_such_a_role_before_serving_and_the_store_is_as_it_was(tmp_path):
    db, hub = tmp_path / "s.duckdb", tmp_path / "hub.toml"
    subprocess.run([sys.executable, "-m", "intel.cli", "init", "--db", str(db)], check=True, capture_output=True)
    hub.write_text('[api.roles.marac]\nrights = ["chronology", "person"]\nhealth_clearance = false\n'
                   'domestic_abuse_only = true\n')
    from core.store import Store
    with Store(db) as s:
        before = s.content_digest()
    served = subprocess.run([sys.executable, "-m", "intel.cli", "serve", "--db", str(db), "--port", "0"],
                            capture_output=True, text=True, timeout=120, env={**os.environ, "INTEL_CONFIG": str(hub)})
    assert served.returncode == 2 and "[api.roles.marac] rights person" in served.stderr
    with Store(db) as s:
        assert s.content_digest() == before
