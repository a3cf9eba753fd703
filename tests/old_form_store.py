"""A store as an older mash-intel (schema version 1) left it: person ids ``P`` + 8 digits.

Made from a store this code built, by turning every ``MI-00000042W`` in every text and list column
of every table back into ``P00000042`` (nothing the agencies send contains ``MI-``), dropping
``person_id_aliases`` and stamping version 1. Generic on purpose: it knows no list of columns, so a
test comparing the migrated store with the original catches any column core/migrations.py misses.
The audit log is left alone: callers write its entries with the ids they want it to hold.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import duckdb

from access.audit_chain import audit_paths

CURRENT = "MI-([0-9]{8})[A-Z]"


def old_form_copy(store: Path, copy: Path, config: Any) -> Path:
    """``store`` and its audit files (key, anchor, journal) copied to ``copy``, then downgraded."""
    shutil.copy(store, copy)
    for src, dst in zip(audit_paths(store, config), audit_paths(copy, config)):
        if src.exists():
            shutil.copy(src, dst)
    downgrade(copy)
    return copy


def downgrade(path: str | Path) -> None:
    con = duckdb.connect(str(path))
    try:
        con.execute("BEGIN")
        cols = con.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns c JOIN information_schema.tables t "
            "USING (table_schema, table_name) WHERE table_schema = 'main' AND table_type = 'BASE TABLE' "
            "AND table_name NOT IN ('audit_log', 'person_id_aliases') AND data_type IN ('VARCHAR', 'VARCHAR[]')").fetchall()
        for table, column, kind in cols:
            expr = (f"regexp_replace(\"{column}\", '{CURRENT}', 'P\\1', 'g')" if kind == "VARCHAR" else
                    f"list_transform(\"{column}\", lambda x: regexp_replace(x, '{CURRENT}', 'P\\1', 'g'))")
            con.execute(f'UPDATE "{table}" SET "{column}" = {expr} WHERE "{column}"::VARCHAR LIKE \'%MI-%\'')
        con.execute("DROP TABLE person_id_aliases")
        con.execute("UPDATE store_meta SET schema_version = 1")
        con.execute("COMMIT")
    finally:
        con.close()


def raw_digest(path: str | Path) -> dict[str, str]:
    """Store.content_digest without opening a Store (which would migrate an old one)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
            "AND table_type = 'BASE TABLE' ORDER BY 1").fetchall()]
        return {t: "{}:{}".format(*con.execute(
            f'SELECT count(*), coalesce(sum(hash(t::VARCHAR)), 0) FROM "{t}" t').fetchall()[0]) for t in tables}
    finally:
        con.close()
