"""The version 2 migration: a store with old person ids (P + 8 digits) rewritten to the MI- form
in every table but the audit log, atomically and once, with the old ids kept resolvable."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from access.audit import AuditWriter, list_audit
from access.audit_chain import audit_paths
from access.audit_verify import verify
from core import migrations
from core.config import load_config
from core.person_ids import migrated_id
from core.store import SCHEMA_VERSION, Store, StoreError
from findings.runs import run_nightly
from fixtures.world import generate_world
from linkage.decisions import decide
from linkage.identity import person_record, resolve_person_id
from tests.old_form_store import downgrade, raw_digest
from tests.stand_in_scorer import rules_engine
from views.chronology import chronology
from views.chronology_sources import SnapshotReader
from views.search import refresh_index

CONFIG = load_config()


@pytest.fixture(scope="module")
def stores(tmp_path_factory) -> dict[str, Any]:
    """``new``: a generated world through a nightly run, a merge and the search index, as this
    code writes it; ``old``: the same store as version 1 wrote it. Its audit log names old ids."""
    base = tmp_path_factory.mktemp("migration")
    generate_world(base / "w", households=25, seed=4)
    new = base / "new.duckdb"
    with Store(new) as store:
        run_nightly(store, base / "w" / "drop", config=CONFIG, link_engine=rules_engine())
        a, b = [r["mention_id"] for r in store.rows(
            "SELECT min(mention_id) AS mention_id FROM person_mentions GROUP BY person_id ORDER BY 1 LIMIT 2")]
        decide(store, a, b, "same", "carol", "same NHS number on both records", config=CONFIG)
        refresh_index(store)
        merged = store.rows("SELECT person_id, merged_into FROM persons WHERE status = 'merged'")[0]
        writer = AuditWriter(store)
        for pid in (merged["person_id"], merged["merged_into"]):
            writer.write(store, user_name="alice", role="analyst", method="GET", endpoint="/persons/{person_id}",
                         path=f"/persons/P{pid[3:11]}", status=200, subject_kind="person",
                         subject_id=f"P{pid[3:11]}", purpose="strategy meeting")
        assert store.rows("SELECT count(*) AS n FROM alerts")[0]["n"] > 0
        assert store.rows("SELECT count(*) AS n FROM findings")[0]["n"] > 0
    old = base / "old.duckdb"
    shutil.copy(new, old)
    downgrade(old)
    return {"new": new, "old": old, "merged": merged, "dir": base}


def _migrated(stores: dict[str, Any], name: str) -> Path:
    """A copy of the old store (with its audit key and anchor, kept beside it)."""
    path = stores["dir"] / f"{name}.duckdb"
    shutil.copy(stores["old"], path)
    for src, dst in zip(audit_paths(stores["new"], CONFIG), audit_paths(path, CONFIG)):
        shutil.copy(src, dst)
    return path


def test_the_old_store_really_holds_old_ids(stores):
    d = raw_digest(stores["old"])
    assert "person_id_aliases" not in d
    assert d != raw_digest(stores["new"])
    with pytest.raises(StoreError, match="schema version 1, older than"):
        Store(stores["old"], read_only=True)          # read-only cannot migrate: said, nothing changed
    assert raw_digest(stores["old"]) == d


def test_every_table_is_rewritten_and_nothing_else_changes(stores):
    path = _migrated(stores, "every_table")
    with Store(path, create=False) as store:
        persons = store.rows("SELECT count(*) AS n FROM persons")[0]["n"]
        assert store.upgraded == {"from_version": 1, "to_version": SCHEMA_VERSION,
                                  "steps": {"2": {"person_ids_rewritten": persons}}}
        aliases = store.rows("SELECT old_id, person_id FROM person_id_aliases")
        assert len(aliases) == persons and all(migrated_id(r["old_id"]) == r["person_id"] for r in aliases)
        # police record ids have the old person-id form and are the agency's: untouched
        assert store.rows("SELECT count(*) AS n FROM mentions WHERE regexp_full_match(record_id, 'P[0-9]{8}')")[0]["n"]
        # the audit log keeps the ids it was written with, and its chain still verifies
        assert {r["subject_id"][0] for r in store.rows("SELECT subject_id FROM audit_log WHERE subject_kind = 'person'")} == {"P"}
        assert verify(store, CONFIG)["ok"], verify(store, CONFIG)
        got = store.content_digest()
        indexes = store.rows("SELECT index_name, table_name, sql FROM duckdb_indexes() ORDER BY 1")
    with Store(stores["new"], create=False) as store:   # the indexes dropped for speed are all back
        assert indexes == store.rows("SELECT index_name, table_name, sql FROM duckdb_indexes() ORDER BY 1")
    want = raw_digest(stores["new"])
    assert want.pop("person_id_aliases") == "0:0"     # a store made by this code has no old ids
    old = raw_digest(stores["old"])
    assert got.pop("person_id_aliases")
    assert got["audit_log"] == old["audit_log"] == want["audit_log"]
    assert got == want           # every other table exactly as this code would have written it


def test_the_migration_is_idempotent(stores):
    path = _migrated(stores, "twice")
    Store(path, create=False).close()
    once = raw_digest(path)
    with Store(path, create=False) as store:
        assert store.upgraded == {}
        assert migrations.upgrade(store.connection, 1, SCHEMA_VERSION) == {"2": {"person_ids_rewritten": 0}}
    assert raw_digest(path) == once


@pytest.mark.parametrize("where", ["whole", "text"])
def test_a_failure_midway_leaves_the_store_as_it_was(stores, monkeypatch, where):
    path = _migrated(stores, f"fails_{where}")
    before = raw_digest(path)
    if where == "whole":   # after persons and person_mentions are rewritten, before the rest
        monkeypatch.setattr(migrations, "WHOLE_ID_COLUMNS",
                            migrations.WHOLE_ID_COLUMNS[:3] + (("persons", "no_such_column", ""),))
        monkeypatch.setattr(migrations, "_columns", lambda con: {("persons", "no_such_column")} | {
            (t, c) for t, c in con.execute("SELECT table_name, column_name FROM information_schema.columns").fetchall()})
    else:                  # inside the text rewriting, after every whole-id column
        def broken(mapping, sources):
            def rewrite(text):
                raise RuntimeError("disk full")
            return rewrite
        monkeypatch.setattr(migrations, "text_rewriter", broken)
    with pytest.raises(StoreError, match="from schema version 1 to 2 failed, so nothing was changed"):
        Store(path, create=False)
    assert raw_digest(path) == before
    monkeypatch.undo()
    with Store(path, create=False) as store:       # and the next open migrates it
        assert store.upgraded["from_version"] == 1


def test_old_ids_keep_resolving(stores):
    path = _migrated(stores, "resolving")
    merged = stores["merged"]
    old_merged, old_survivor = f"P{merged['person_id'][3:11]}", f"P{merged['merged_into'][3:11]}"
    with Store(path, create=False) as store:
        assert resolve_person_id(store, old_survivor) == merged["merged_into"]
        assert resolve_person_id(store, old_merged) == merged["merged_into"]     # the old id, then the merge
        assert resolve_person_id(store, merged["person_id"]) == merged["merged_into"]
        rec = person_record(store, old_merged)
        assert rec["person_id"] == merged["merged_into"] and rec["old_ids"] == sorted([old_merged, old_survivor])
        reader = SnapshotReader.build(store)
        assert reader.resolve(old_merged) == merged["merged_into"]
        for via in (None, reader):
            chron = chronology(store, person_id=old_survivor, config=CONFIG, reader=via)
            assert chron["person"]["person_id"] == merged["merged_into"]
            assert chron["person"]["note"].startswith(f"{old_survivor} is the old form of the person id {merged['merged_into']}")
        # the audit log's entries written with old ids are found by the new id
        found = list_audit(store, person=merged["merged_into"])
        assert {e["subject_id"] for e in found["entries"]} == {old_merged, old_survivor}
        assert old_survivor in found["person_ids"]
