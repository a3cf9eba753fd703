"""Reading a drop: which files it holds, each file read as text columns (CSV or Parquet, through an
agency's column mapping), and the manifest checked against them. A file that cannot be used
at all refuses the whole drop with an IntelError; nothing here writes."""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from core.errors import IntelError
from ingest import contract
from ingest import encoded_contract, encoded_drop
from ingest.mapping import MappingProfile, apply_profile

MANIFEST = "manifest.json"


@dataclass
class SourceFile:
    """One usable file of a drop, read but not yet checked row by row."""

    path: Path
    source: str
    sha256: str
    frame: pl.DataFrame  # every column String, plus "_row" (1-based data row number)
    mapping: str | None = None
    extra_columns: tuple[str, ...] = ()
    absent_columns: tuple[str, ...] = ()   # contract columns the file lacks (loaded as empty)
    encoded: bool = False   # the drop declares an encoding (ingest/encoded_drop.py)


# --- reading ------------------------------------------------------------------------------

def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _read_csv(path: Path) -> pl.DataFrame:
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]  # the contract tolerates a BOM
    if not data.strip():
        raise IntelError(f"{path.name}: the file is empty (no header row)")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise IntelError(
            f"{path.name}: not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); "
            "agencies must send UTF-8") from exc
    if b"\x00" in data[:4096]:
        raise IntelError(f"{path.name}: binary content, not CSV")
    try:
        frame = pl.read_csv(
            io.BytesIO(data), infer_schema=False, quote_char='"', has_header=True, raise_if_empty=True,
        ).fill_null("")
    except pl.exceptions.PolarsError as exc:
        raise IntelError(f"{path.name}: not readable as CSV ({type(exc).__name__}: {str(exc).splitlines()[0]})") from exc
    duplicates = {c for c in frame.columns if frame.columns.count(c) > 1}
    if duplicates or any(c.endswith("_duplicated_0") for c in frame.columns):
        raise IntelError(f"{path.name}: the header repeats a column name")
    return frame


def _read_parquet(path: Path) -> pl.DataFrame:
    try:
        frame = pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise IntelError(f"{path.name}: not readable as Parquet ({type(exc).__name__}: {str(exc).splitlines()[0]})") from exc
    casts = []
    for name, dtype in frame.schema.items():
        if dtype == pl.String:
            casts.append(pl.col(name))
        elif dtype == pl.Boolean:
            casts.append(pl.col(name).cast(pl.String).str.to_lowercase())
        elif dtype.is_temporal():
            casts.append(pl.col(name).dt.to_string("iso").alias(name) if dtype != pl.Date else pl.col(name).dt.strftime("%Y-%m-%d"))
        else:
            casts.append(pl.col(name).cast(pl.String))
    return frame.select(casts).with_columns(pl.all().fill_null(""))


def read_source_file(path: Path, source: str, mapping: MappingProfile | None,
                     encoding: dict[str, Any] | None = None) -> SourceFile:
    """Read one file as all-String columns, apply its mapping, check its columns are usable."""
    frame = _read_parquet(path) if path.suffix.lower() == ".parquet" else _read_csv(path)
    frame = frame.rename({c: c.strip() for c in frame.columns if c != c.strip()})
    if mapping is not None:
        frame = apply_profile(frame, mapping, path.name)
    encoded_drop.check_columns(path.name, frame, encoding)
    missing = [c for c in contract.REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise IntelError(f"{path.name}: missing required column(s) {', '.join(missing)}")
    known = set(contract.COMMON_COLUMNS) | set(contract.SOURCE_COLUMNS[source])
    if encoding is not None:
        known |= set(encoded_contract.ENCODED_COLUMNS)
    extra = tuple(c for c in frame.columns if c not in known)
    absent = tuple(sorted(c for c in known if c not in frame.columns))
    for column in known:
        if column not in frame.columns:
            frame = frame.with_columns(pl.lit("", dtype=pl.String).alias(column))
    frame = frame.select(sorted(known)).with_row_index("_row", offset=1)
    if encoding is not None:
        encoded_drop.check_values(path.name, frame)
    return SourceFile(path=path, source=source, sha256=_sha256(path), frame=frame,
                      mapping=mapping.name if mapping else None, extra_columns=extra, absent_columns=absent,
                      encoded=encoding is not None)


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IntelError(f"{path.name}: not valid JSON ({exc})") from exc
    if not isinstance(manifest, dict):
        raise IntelError(f"{path.name}: must be a JSON object")
    extract_date = manifest.get("extract_date")
    if extract_date is not None:
        try:
            datetime.strptime(str(extract_date), "%Y-%m-%d")
        except ValueError as exc:
            raise IntelError(f"{path.name}: extract_date {extract_date!r} is not YYYY-MM-DD") from exc
    files = manifest.get("files", {})
    if not isinstance(files, dict) or not all(isinstance(v, dict) for v in files.values()):
        raise IntelError(f"{path.name}: 'files' must map file names to {{\"rows\": N, \"sha256\": ...}}")
    return manifest


def read_drop(drop_dir: Path, mappings: dict[str, MappingProfile] | None = None) -> tuple[list[SourceFile], dict[str, Any]]:
    """Every usable file of a drop, or an IntelError that refuses the whole drop."""
    mappings = mappings or {}
    if not drop_dir.exists():
        raise IntelError(f"drop folder {drop_dir} does not exist")
    if not drop_dir.is_dir():
        raise IntelError(f"{drop_dir} is not a folder: a drop is a folder of police*, social_care*, health* files")
    files: list[SourceFile] = []
    # Sub-folders are not part of the drop (a hub may keep its own notes beside the files).
    entries = sorted(p for p in drop_dir.iterdir() if p.is_file() and not p.name.startswith("."))
    # the manifest first: it declares whether the drop is encoded
    manifest = _read_manifest(drop_dir / MANIFEST) if (drop_dir / MANIFEST).is_file() else {}
    encoding = encoded_drop.declared(manifest, MANIFEST)
    for path in entries:
        if path.name == MANIFEST:
            continue
        source = contract.source_of_file(path.name)
        if source is None:
            if path.suffix.lower() in (".csv", ".parquet"):
                raise IntelError(
                    f"{path.name}: unknown source; file names must start with one of "
                    f"{', '.join(contract.SOURCES)}")
            raise IntelError(f"{path.name}: not a CSV or Parquet file; a drop holds police*, social_care*, "
                             f"health* .csv/.parquet files and an optional manifest.json")
        files.append(read_source_file(path, source, mappings.get(source), encoding))
    if not files:
        raise IntelError(f"drop folder {drop_dir} holds no police*, social_care* or health* file")
    _check_against_manifest(files, manifest)
    return files, manifest


def _check_against_manifest(files: list[SourceFile], manifest: dict[str, Any]) -> None:
    listed = manifest.get("files", {})
    by_name = {f.path.name: f for f in files}
    for name, expected in listed.items():
        if name not in by_name:
            raise IntelError(f"{MANIFEST}: lists {name}, which is not in the drop")
        got = by_name[name]
        if "sha256" in expected and str(expected["sha256"]).lower() != got.sha256:
            raise IntelError(f"{name}: sha256 does not match {MANIFEST} (the file changed or arrived incomplete)")
        if "rows" in expected and int(expected["rows"]) != got.frame.height:
            raise IntelError(f"{name}: {got.frame.height} data rows, but {MANIFEST} says {expected['rows']}")
