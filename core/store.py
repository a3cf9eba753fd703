"""The store: the one module that opens DuckDB.

Everything else receives a :class:`Store` (or, for Splink, the connection it lends) and never
connects on its own. The schema lives in ``core/schema/*.sql``, one file per area, applied in
name order on every open; each statement is idempotent (``IF NOT EXISTS``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from core.migrations import upgrade

DEFAULT_DB = "intel.duckdb"
SCHEMA_DIR = Path(__file__).parent / "schema"
PROJECT = "mash-intel"
# The version of the schema this code writes, stamped in store_meta when a store is made. A store
# with a higher version was made by newer code and is refused; a lower one is brought up to date
# on its next writable open by the idempotent schema files and core/migrations.py's data steps,
# in one transaction. 2: person ids MI-00000042W (core/person_ids.py), old ids in person_id_aliases.
SCHEMA_VERSION = 2
_DUCKDB_MAGIC = b"DUCK"    # bytes 8..11 of every DuckDB database file


class StoreError(Exception):
    """The store cannot be opened or used; the message says why and what to do."""


DEMO_DB = Path("demo") / "intel.duckdb"


def default_db_path(existing_only: bool = False) -> Path:
    """``INTEL_DB`` if set, else ``./intel.duckdb``. A command that needs an existing store
    (``existing_only``: every command but ``intel init`` and ``ingest --create``), where there is
    none but ``./run demo`` left ``demo/intel.duckdb``, uses that one (so the README's next command
    works after the demo; said on stderr); one that may create a store never falls back."""
    if os.environ.get("INTEL_DB"):
        return Path(os.environ["INTEL_DB"])
    if existing_only and not Path(DEFAULT_DB).exists() and DEMO_DB.exists():
        print(f"using the demo's store {DEMO_DB} (no ./{DEFAULT_DB}; --db or INTEL_DB choose another)",
              file=sys.stderr)
        return DEMO_DB
    return Path(DEFAULT_DB)


class Store:
    """A DuckDB database file holding everything mash-intel knows.

    ``read_only`` opens without taking the single-writer lock's write side, for readers that
    must never change anything. ``create=False`` (every command but ``intel init`` and ``ingest
    --create``) refuses a path where there is no store. A path that holds anything but a store of
    this project - another file, another DuckDB database, a store of a newer schema - is always
    refused with a StoreError, before anything is written to it.
    """

    def __init__(self, path: str | Path | None = None, *, read_only: bool = False, create: bool = True) -> None:
        self.path = Path(path) if path is not None else default_db_path(read_only or not create)
        self.read_only = read_only
        existed = _check_file(self.path)
        if not existed and (read_only or not create):
            raise StoreError(f"no store at {self.path}: make one with `intel init --db {self.path}` (or `intel "
                             "ingest DROP --create`), or give the path of an existing store with --db / $INTEL_DB")
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise StoreError(f"cannot open the store {self.path}: {exc}") from exc
            raise StoreError(
                f"cannot open the store {self.path}: another process holds it (DuckDB allows one "
                "writing process). If `intel serve` is running on this store, start a nightly run "
                "with POST /runs and use the API, or stop the server first; otherwise wait for the "
                f"other command to finish. ({exc})"
            ) from exc
        # no progress bar: DuckDB draws it on stdout, where a command prints its one JSON object
        self._con.execute("SET enable_progress_bar = false")
        self._in_transaction = False
        if existed:
            try:
                _check_identity(self._con, self.path)
                if read_only and (_stored_version(self._con) or 0) < SCHEMA_VERSION:
                    raise StoreError(
                        f"{self.path} has schema version {_stored_version(self._con) or 0}, older than this "
                        f"{PROJECT}'s {SCHEMA_VERSION}: it is brought up to date when a command opens it for "
                        f"writing (`intel upgrade --db {self.path}`); opened read-only, nothing was changed")
            except StoreError:
                self._con.close()
                raise
        self.upgraded: dict[str, Any] = {}   # what opening did to an older store (core/migrations.py)
        if not read_only:
            self._bring_up_to_date(existed)

    # -- lifecycle -------------------------------------------------------------------------
    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def apply_schema(self) -> None:
        for sql_file in sorted(SCHEMA_DIR.glob("*.sql")):
            try:
                self._con.execute(sql_file.read_text())
            except duckdb.Error as exc:
                raise StoreError(f"schema file {sql_file.name} failed: {exc}") from exc

    def _bring_up_to_date(self, existed: bool) -> None:
        """Apply the schema files; a new store is stamped, an older one migrated (core/migrations.py)
        and stamped, all in one transaction: a failed migration leaves it as it was, at its version."""
        version = _stored_version(self._con)
        if version is not None and version >= SCHEMA_VERSION:
            self.apply_schema()
            return
        try:
            with self.transaction():
                self.apply_schema()
                steps = upgrade(self._con, version or 0, SCHEMA_VERSION)
                if version is None:
                    self._con.execute("INSERT INTO store_meta VALUES (?, ?, now()::TIMESTAMP)", [PROJECT, SCHEMA_VERSION])
                else:
                    self._con.execute("UPDATE store_meta SET schema_version = ?", [SCHEMA_VERSION])
            if existed:
                self.upgraded = {"from_version": version or 0, "to_version": SCHEMA_VERSION, "steps": steps}
        except StoreError:
            self._con.close()
            raise
        except Exception as exc:
            self._con.close()
            raise StoreError(f"{self.path}: bringing the store from schema version {version or 0} to "
                             f"{SCHEMA_VERSION} failed, so nothing was changed ({exc})") from exc

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The raw connection, lent to Splink (which must run its SQL on our database)."""
        return self._con

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new cursor on the same database, for a thread of its own (e.g. an API request)."""
        return self._con.cursor()

    def session(self) -> Store:
        """A Store over a cursor of its own on this same database, for one thread (an API
        request, a background run): sees committed data (MVCC) and runs its own transactions;
        ``close()`` closes only the cursor."""
        other = object.__new__(Store)
        other.path, other.read_only, other.upgraded = self.path, self.read_only, {}
        other._con = self._con.cursor()
        other._in_transaction = False
        return other

    def lazy_session(self, *, read_transaction: bool = False) -> Store:
        """A :meth:`session` whose cursor opens on first use, with ``read_transaction`` inside
        one read transaction (all its queries see one committed state). For API requests: one
        answered from memory (api/snapshot.py) never touches DuckDB."""
        return _LazySession(self, read_transaction)

    # -- transactions ----------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """All or nothing: commit on success, roll back on any exception.

        Nested use joins the outer transaction, so a library function can demand atomicity
        without knowing whether its caller already started one.
        """
        if self._in_transaction:
            yield self
            return
        self._con.execute("BEGIN TRANSACTION")
        self._in_transaction = True
        try:
            yield self
        except BaseException:
            self._con.execute("ROLLBACK")
            raise
        else:
            self._con.execute("COMMIT")
        finally:
            self._in_transaction = False

    # -- queries ---------------------------------------------------------------------------
    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> None:
        self._con.execute(sql, params)

    def df(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> pl.DataFrame:
        """A query's result as a polars DataFrame."""
        # .sql() hands Arrow over without the extra copy a DB-API result makes.
        relation = self._con.sql(sql, params=params)
        if relation is None:
            return pl.DataFrame()
        return pl.from_arrow(relation.to_arrow_table())

    def rows(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> list[dict[str, Any]]:
        cur = self._con.execute(sql, params)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]

    def scalar(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> Any:
        # fetchall, not fetchone: a half-read result left on the connection breaks its next .sql().
        rows = self._con.execute(sql, params).fetchall()
        return rows[0][0] if rows else None

    def insert_df(self, table: str, frame: pl.DataFrame) -> int:
        """Append a polars frame to a table, matching columns by name, in one statement. Returns
        rows inserted."""
        if frame.height == 0:
            return 0
        # read through DuckDB's replacement scan of this frame's local: register() and
        # unregister() cost ~0.4 ms each, more than the insert itself for a small frame
        _arrow_batch_to_insert = frame.to_arrow()  # noqa: F841 - read by name in the SQL below
        cols = ", ".join(f'"{c}"' for c in frame.columns)
        self._con.execute(f'INSERT INTO "{table}" ({cols}) SELECT {cols} FROM _arrow_batch_to_insert')
        return frame.height

    def replace_rows(self, table: str, frame: pl.DataFrame, key: str) -> int:
        """Insert a frame's rows, each replacing the table's row with the same ``key`` (a re-sent
        record or event). Matches columns by name; returns rows written."""
        if frame.height == 0:
            return 0
        _arrow_batch_to_replace = frame.to_arrow()  # noqa: F841 - read by name in the SQL below
        self._con.execute(f'DELETE FROM "{table}" WHERE "{key}" IN (SELECT "{key}" FROM _arrow_batch_to_replace)')
        cols = ", ".join(f'"{c}"' for c in frame.columns)
        self._con.execute(f'INSERT INTO "{table}" ({cols}) SELECT {cols} FROM _arrow_batch_to_replace')
        return frame.height

    def append_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> int:
        """Append rows (one value per column, in ``columns`` order) in one statement: all or none.
        Through a DuckDB appender kept on this session: a commit of 8 rows cost 1.1 ms against
        1.9 ms bound as statement parameters (DuckDB binds those one at a time)."""
        if not rows:
            return 0
        key = (table, tuple(columns))
        appenders = self.__dict__.setdefault("_appenders", {})
        appender = appenders.get(key)
        if appender is None:
            appender = appenders[key] = self._con.appender(table, columns=list(columns))
        try:
            appender.append_rows(rows)
            appender.flush()
        except BaseException:
            appender.clear()   # nothing of a failed batch is applied by the next flush
            raise
        return len(rows)

    def register(self, name: str, frame: pl.DataFrame) -> None:
        """Expose a polars frame to SQL under a name (for set-based joins against the store)."""
        self._con.register(name, frame.to_arrow())

    def unregister(self, name: str) -> None:
        self._con.unregister(name)

    def tables(self) -> list[str]:
        return [r[0] for r in self._con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
            "AND table_type = 'BASE TABLE' ORDER BY 1").fetchall()]

    def content_digest(self) -> dict[str, str]:
        """An order-independent digest of every table's contents: equal digests, equal stores.

        Used to prove that a refused input left the store exactly as it was.
        """
        digest: dict[str, str] = {}
        for table in self.tables():
            value = self._con.execute(
                f'SELECT count(*), coalesce(sum(hash(t::VARCHAR)), 0) FROM "{table}" t').fetchall()[0]
            digest[table] = f"{value[0]}:{value[1]}"
        return digest


def _check_file(path: Path) -> bool:
    """Whether a store file exists at ``path``; a StoreError if something else is there."""
    if not path.exists():
        if path.is_symlink():
            raise StoreError(f"{path} is a link to nothing: not a store")
        return False
    if path.is_dir():
        raise StoreError(f"{path} is a folder, not a store: give the path of the store's file")
    with path.open("rb") as fh:
        head = fh.read(12)
    if head[8:12] != _DUCKDB_MAGIC:
        raise StoreError(f"{path} is not a {PROJECT} store (not a DuckDB database file): nothing was changed; "
                         "give the path of a store made by `intel init`")
    return True


def _stored_version(con: duckdb.DuckDBPyConnection) -> int | None:
    """The schema version stamped in the store; None for a new store or one made before stamping."""
    if not con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' "
                       "AND table_name = 'store_meta'").fetchall()[0][0]:
        return None
    return con.execute("SELECT max(schema_version) FROM store_meta").fetchall()[0][0]


def _check_identity(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """An existing DuckDB file is a store of this project, of a schema this code can use."""
    tables = {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}
    if "store_meta" in tables:
        rows = con.execute("SELECT project, schema_version FROM store_meta").fetchall()
        if rows and rows[0][0] != PROJECT:
            raise StoreError(f"{path} is a store of {rows[0][0]!r}, not of {PROJECT}: nothing was changed")
        if rows and rows[0][1] > SCHEMA_VERSION:
            raise StoreError(f"{path} has schema version {rows[0][1]}, made by a newer {PROJECT} (this one "
                             f"knows version {SCHEMA_VERSION}): upgrade before using it; nothing was changed")
        if rows:
            return
    if {"mentions", "drops", "audit_log"} <= tables:
        return   # a store made before the schema version was stamped: stamped on its next writable open
    raise StoreError(f"{path} is a DuckDB database but not a {PROJECT} store (no schema version): nothing was "
                     "changed; give the path of a store made by `intel init`")


class _LazySession(Store):
    """See :meth:`Store.lazy_session`."""

    def __init__(self, owner: Store, read_transaction: bool) -> None:  # noqa: D107 - no super(): nothing to open yet
        self.path, self.read_only = owner.path, owner.read_only
        self._owner = owner
        self._cursor: duckdb.DuckDBPyConnection | None = None
        self._read_transaction = read_transaction
        # library code asking for a transaction joins the request's read transaction
        self._in_transaction = read_transaction

    @property
    def _con(self) -> duckdb.DuckDBPyConnection:  # type: ignore[override]
        if self._cursor is None:
            cursor = self._owner._con.cursor()
            if self._read_transaction:
                cursor.execute("BEGIN TRANSACTION")
            self._cursor = cursor
        return self._cursor

    @property
    def opened(self) -> bool:
        return self._cursor is not None

    def close(self) -> None:
        if self._cursor is None:
            return
        if self._read_transaction:
            try:
                self._cursor.execute("ROLLBACK")
            except duckdb.Error:  # nothing was written; the cursor is closed next
                pass
        self._cursor.close()
        self._cursor = None
