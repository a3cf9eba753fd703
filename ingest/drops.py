"""Ingest a drop: validate each file against the extract contract, normalise, load.

The drop is all or nothing at the level of *usability*: a file that cannot be used at all (not
UTF-8, not CSV or Parquet, an unknown source, a missing required column, a manifest that does
not match) refuses the whole drop with an IntelError, and nothing of it is loaded. Inside a
usable file, a row that breaks a rule goes to quarantine with its file, row, column and reason,
and the rest loads. Everything a drop loads is written in one transaction.

Reading (ingest/reading.py) and checking and normalising (ingest/rows.py) are pure; only
:func:`ingest_drop` writes.
"""

from __future__ import annotations

import hashlib
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from core.spreadsheet_cells import neutralise_frame
from core.store import Store
from ingest import encoded_drop
from ingest.mapping import MappingProfile
from ingest.reading import MANIFEST, SourceFile, read_drop
from ingest.replacements import refuse_erasures
from ingest.rows import check_rows, normalise_events, normalise_mentions, quarantine_rows, row_warnings

def drop_id_of(files: list[SourceFile]) -> str:
    """A drop's identity is its content: the same files give the same id."""
    digest = hashlib.sha256()
    for f in sorted(files, key=lambda f: f.path.name):
        digest.update(f"{f.path.name}:{f.sha256}\n".encode())
    return digest.hexdigest()[:16]


def _log(message: str) -> None:
    print(message, file=sys.stderr)


def ingest_drop(
    store: Store,
    drop_dir: str | Path,
    *,
    mappings: dict[str, MappingProfile] | None = None,
    run_id: str | None = None,
    report_dir: str | Path | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Validate and load a drop; returns the JSON summary.

    Raises IntelError (store untouched) when the drop cannot be used at all.
    """
    drop_dir = Path(drop_dir)
    files, manifest = read_drop(drop_dir, mappings)
    ingested_at = (now or datetime.now()).replace(microsecond=0)
    drop_id = drop_id_of(files)
    provenance = {"drop_id": drop_id, "ingested_at": ingested_at}
    encoding = encoded_drop.declared(manifest, MANIFEST)
    encoded_drop.check_store(store, encoding)
    known = {r["sha256"] for r in store.rows(
        "SELECT sha256 FROM ingested_files WHERE sha256 IN (SELECT unnest($1::VARCHAR[]))", [[f.sha256 for f in files]])}

    per_file: dict[str, dict[str, Any]] = {}
    plans = []
    for f in files:
        if f.sha256 in known:
            per_file[f.path.name] = {"source": f.source, "status": "skipped", "reason": "already ingested (same sha256)",
                                     "loaded": 0, "rejected": 0}
            continue
        problems = check_rows(f)
        bad_rows = problems["_row"].unique()
        good = f.frame.filter(~pl.col("_row").is_in(bad_rows.implode()))
        refuse_erasures(store, f.path.name, f.source, f.absent_columns, good, manifest, f.encoded)
        plans.append((f, good, problems))
        per_file[f.path.name] = {
            "source": f.source, "status": "loaded", "rows": f.frame.height, "loaded": good.height,
            "rejected": bad_rows.len(), "mapping": f.mapping,
            **({"warnings": w} if (w := row_warnings(f)) else {}),
            **({"ignored_columns": list(f.extra_columns)} if f.extra_columns else {}),
        }

    quarantine_frames = []
    replaced = 0
    with store.transaction():
        for f, good, problems in plans:
            _log(f"ingest: {f.path.name}: {good.height} rows to load, {problems['_row'].n_unique()} rejected")
            mentions = normalise_mentions(f, good, provenance)
            replaced += _load_mentions(store, mentions, drop_id, ingested_at)
            _load_events(store, normalise_events(f, good, provenance))
            if f.encoded:
                encoded_drop.load_encodings(store, encoded_drop.encodings_frame(f.source, good, drop_id))
            quarantine = quarantine_rows(f, problems, provenance)
            store.insert_df("quarantine", quarantine)
            quarantine_frames.append(quarantine)
            store.execute(
                "INSERT INTO ingested_files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [f.sha256, drop_id, f.path.name, f.source, f.frame.height, good.height,
                 problems["_row"].n_unique(), f.mapping, ingested_at])
        if plans:
            encoded_drop.record_mode(store, encoding, drop_id, ingested_at)
            store.execute(
                "INSERT INTO drops VALUES (?, ?, ?, ?, ?) ON CONFLICT (drop_id) DO NOTHING",
                [drop_id, str(drop_dir.resolve()), manifest.get("extract_date"), ingested_at, run_id])

    report = _write_report(store, drop_dir, drop_id, quarantine_frames, report_dir)
    loaded = [v for v in per_file.values() if v["status"] == "loaded"]
    return {
        "drop_id": drop_id,
        "drop": str(drop_dir),
        "extract_date": manifest.get("extract_date"),
        "loaded": sum(v["loaded"] for v in loaded),
        "rejected": sum(v["rejected"] for v in loaded),
        "replaced": replaced,
        "skipped_files": sum(1 for v in per_file.values() if v["status"] == "skipped"),
        "files": per_file,
        "quarantine_report": report,
    }


def _load_mentions(store: Store, mentions: pl.DataFrame, drop_id: str, ingested_at: datetime) -> int:
    """Insert mentions; a re-sent (source, record_id) replaces the current version, which moves
    to mentions_history. Returns how many were replaced."""
    store.register("_new_mentions", mentions)
    try:
        replaced = store.scalar(
            "SELECT count(*) FROM mentions m JOIN _new_mentions n USING (mention_id)")
        if replaced:
            store.execute(
                "INSERT INTO mentions_history SELECT m.*, ?, ? FROM mentions m "
                "WHERE m.mention_id IN (SELECT mention_id FROM _new_mentions)", [ingested_at, drop_id])
            store.execute("DELETE FROM mentions WHERE mention_id IN (SELECT mention_id FROM _new_mentions)")
        cols = ", ".join(mentions.columns)
        store.execute(
            f"INSERT INTO mentions ({cols}, version) SELECT {', '.join('n.' + c for c in mentions.columns)}, "
            "coalesce((SELECT max(h.version) FROM mentions_history h WHERE h.mention_id = n.mention_id), 0) + 1 "
            "FROM _new_mentions n")
    finally:
        store.unregister("_new_mentions")
    return int(replaced or 0)


def _load_events(store: Store, events: pl.DataFrame) -> None:
    """Insert events; a re-sent event replaces its earlier row (its mentions may have changed)."""
    store.replace_rows("events", events, "event_key")


def _write_report(store: Store, drop_dir: Path, drop_id: str, quarantine: list[pl.DataFrame],
                  report_dir: str | Path | None) -> str | None:
    """quarantine.csv in the drop's report folder (beside the store; the drop may be read-only)."""
    if not quarantine:
        return None
    base = Path(report_dir) if report_dir else store.path.resolve().parent / "reports"
    folder = base / f"{drop_dir.resolve().name}-{drop_id}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "quarantine.csv"
    report = pl.concat(quarantine).select("file_name", "row_number", "column_name", "reason", "raw_row")
    neutralise_frame(report).write_csv(path)    # opened in a spreadsheet: no cell runs (core/spreadsheet_cells.py)
    return str(path)
