"""Ingest a drop: validate each file against the extract contract, normalise, load.

The drop is all or nothing at the level of *usability*: a file that cannot be used at all (not
UTF-8, not CSV or Parquet, an unknown source, a missing required column, a manifest that does
not match) refuses the whole drop with an IntelError, and nothing of it is loaded. Inside a
usable file, a row that breaks a rule goes to quarantine with its file, row, column and reason,
and the rest loads. Everything a drop loads is written in one transaction.

Reading and checking are pure (polars frames in, frames out); only :func:`ingest_drop` writes.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from ingest import encoded_contract, encoded_drop
from ingest import contract
from ingest import normalise as norm
from core.errors import IntelError
from ingest.mapping import MappingProfile, apply_profile, parse_mapping_options  # noqa: F401 (CLI uses it)
from core.store import Store
from core.spreadsheet_cells import neutralise_frame
from ingest.replacements import refuse_erasures

MANIFEST = "manifest.json"
_EARLIEST_DATE = datetime(1900, 1, 1)


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


# --- row checks (pure) ----------------------------------------------------------------------

def _rule_checks(source: str, encoded: bool = False) -> list[tuple[str, pl.Expr]]:
    """(column, expression giving a reason or null) for every row rule of a source."""
    def present(c: str) -> pl.Expr:
        return norm.blank_to_null(pl.col(c)).is_not_null()

    def enum(c: str, allowed: tuple[str, ...]) -> tuple[str, pl.Expr]:
        value = norm.blank_to_null(pl.col(c))
        return c, pl.when(value.is_not_null() & ~value.is_in(list(allowed))).then(
            pl.format(f"{c} '{{}}' is not one of: {', '.join(allowed)}", value))

    checks: list[tuple[str, pl.Expr]] = []
    for c in (*contract.COMMON_COLUMNS, *contract.SOURCE_COLUMNS[source]):
        limit = contract.MAX_LENGTHS.get(c, contract.DEFAULT_MAX_LENGTH)
        length = pl.col(c).str.len_chars()
        checks.append((c, pl.when(length > limit).then(
            pl.format(f"{c} is {{}} characters long; the contract allows at most {limit}", length))))
    for c in contract.REQUIRED_COLUMNS:
        checks.append((c, pl.when(~present(c)).then(pl.lit(f"{c} is required"))))
    checks.append(enum("role", contract.ROLES[source]))
    checks.append(enum("event_type", contract.EVENT_TYPES[source]))
    checks.append(enum("sex", contract.SEXES))
    checks.append(enum("restriction", contract.RESTRICTIONS))
    event_date = norm.iso_datetime(pl.col("event_date"))
    checks.append(("event_date", pl.when(present("event_date") & event_date.is_null()).then(
        pl.format("event_date '{}' is not an ISO 8601 date or date-time", pl.col("event_date")))))
    checks.append(("event_date", pl.when(event_date < _EARLIEST_DATE).then(
        pl.format("event_date '{}' is before 1900", pl.col("event_date")))))
    dob = norm.iso_date(pl.col("dob"))
    checks.append(("dob", pl.when(present("dob") & dob.is_null()).then(
        pl.format("dob '{}' is not an ISO date (YYYY-MM-DD)", pl.col("dob")))))
    checks.append(("dob", pl.when(dob < _EARLIEST_DATE.date()).then(pl.format("dob '{}' is before 1900", pl.col("dob")))))
    # A name counts as an identifier only if it has a letter in it ("-" or "?" is not a name).
    identifiers = pl.sum_horizontal([
        (dob.is_not_null() if c == "dob" else pl.col(c).str.contains(r"\p{L}")
         if c in ("forename", "surname") else present(c)).cast(pl.Int8)
        for c in contract.IDENTIFIER_COLUMNS]) if not encoded else pl.sum_horizontal(
        [present(c).cast(pl.Int8) for c in encoded_contract.IDENTIFIER_COLUMNS])
    checks.append(("forename,surname,dob,person_ref", pl.when(identifiers < contract.MIN_IDENTIFIERS).then(
        pl.lit("fewer than two of forename, surname, dob, person_ref: the row cannot be linked to a person"))))
    for column, allowed in contract.SOURCE_COLUMNS[source].items():
        if isinstance(allowed, tuple):
            checks.append(enum(column, allowed))
        elif allowed == "datetime":
            parsed = norm.iso_datetime(pl.col(column))
            checks.append((column, pl.when(present(column) & parsed.is_null()).then(
                pl.format(f"{column} '{{}}' is not an ISO 8601 date-time", pl.col(column)))))
        elif allowed == "bool":
            checks.append((column, pl.when(~norm.is_boolean_text(pl.col(column))).then(
                pl.format(f"{column} '{{}}' is not true or false", pl.col(column)))))
    if source == "police":
        dash = norm.blank_to_null(pl.col("dash_risk"))
        checks.append(("dash_risk", pl.when(dash.is_not_null() & (pl.col("event_type") != "domestic_abuse")).then(
            pl.lit("dash_risk is graded for domestic_abuse events only"))))
    return checks


def _warnings(file: SourceFile) -> dict[str, int]:
    """Counts of rows that load but carry a value that cannot be right.

    A dob after the event is a keying error (often day and month swapped on a newborn's
    record); the row is still that person's involvement in the event, so it loads — the
    linkage model weighs a day-month swap — and the hub is told how many there were.
    """
    dob = norm.iso_date(pl.col("dob"))
    event_date = norm.iso_datetime(pl.col("event_date"))
    after = file.frame.select((dob > event_date.dt.date()).fill_null(False).sum()).item()
    return {"dob after event_date": int(after)} if after else {}


def check_rows(file: SourceFile) -> pl.DataFrame:
    """Every rule broken by every row: columns _row, column_name, reason (empty if all pass)."""
    frame = file.frame
    checks = _rule_checks(file.source, file.encoded)
    # Lazy, so the parsed dates shared by several rules are computed once (common subexpressions).
    reasons = frame.lazy().select(
        pl.col("_row"),
        *[expr.alias(f"_check_{i}") for i, (_, expr) in enumerate(checks)],
    ).collect()
    long = reasons.unpivot(index="_row", variable_name="_check", value_name="reason").drop_nulls("reason")
    column_of = {f"_check_{i}": column for i, (column, _) in enumerate(checks)}
    long = long.with_columns(pl.col("_check").replace_strict(column_of).alias("column_name")).drop("_check")
    # Duplicate record_id within the file: every copy is quarantined, since we cannot know which is right.
    record_id = norm.blank_to_null(pl.col("record_id"))
    dups = frame.filter(record_id.is_not_null() & record_id.is_duplicated()).select(
        "_row", pl.lit("record_id").alias("column_name"),
        pl.format("duplicate record_id '{}' within the file (rows {})", pl.col("record_id"),
                  pl.col("_row").cast(pl.String).implode().over("record_id").list.join(", ")).alias("reason"))
    return pl.concat([long.select("_row", "column_name", "reason"), dups]).sort("_row", "column_name")


# --- normalising (pure) ---------------------------------------------------------------------

def normalise_mentions(file: SourceFile, rows: pl.DataFrame, provenance: dict[str, Any]) -> pl.DataFrame:
    """Valid rows in the shape of the ``mentions`` table (raw kept beside normalised)."""
    source = file.source
    b = norm.blank_to_null
    # Names, addresses and postcodes repeat a great deal (a family, a street): normalise each
    # distinct value once and join the results back, instead of running the regexes per row.
    rows = normalise_distinct(rows, {"forename": norm.name, "middle_names": norm.name, "surname": norm.name,
                                      "address": norm.address, "postcode": norm.postcode})
    out = rows.select(
        pl.format(f"{source}:{{}}", b(pl.col("record_id"))).alias("mention_id"),
        pl.lit(source).alias("source"),
        b(pl.col("record_id")).alias("record_id"),
        pl.format(f"{source}:{{}}", b(pl.col("event_id"))).alias("event_key"),
        b(pl.col("event_id")).alias("event_id"),
        norm.iso_datetime(pl.col("event_date")).alias("event_date"),
        b(pl.col("role")).alias("role"),
        b(pl.col("event_type")).alias("event_type"),
        b(pl.col("person_ref")).alias("person_ref"),
        pl.col("_norm_forename").alias("forename"),
        pl.col("_norm_middle_names").alias("middle_names"),
        pl.col("_norm_surname").alias("surname"),
        norm.iso_date(pl.col("dob")).alias("dob"),
        norm.sex(pl.col("sex")).alias("sex"),
        pl.col("_norm_address").alias("address"),
        pl.col("_norm_postcode").alias("postcode"),
        norm.uprn(pl.col("uprn")).alias("uprn"),
        b(pl.col("borough")).alias("borough"),
        b(pl.col("restriction")).fill_null("none").alias("restriction"),
        b(pl.col("forename")).alias("forename_raw"),
        b(pl.col("middle_names")).alias("middle_names_raw"),
        b(pl.col("surname")).alias("surname_raw"),
        b(pl.col("dob")).alias("dob_raw"),
        b(pl.col("sex")).alias("sex_raw"),
        b(pl.col("address")).alias("address_raw"),
        b(pl.col("postcode")).alias("postcode_raw"),
        pl.col("event_date").alias("event_date_raw"),
        pl.col("_row").cast(pl.Int64).alias("row_number"),
    )
    out = out.with_columns(household_key_expr().alias("household_key"))
    if file.encoded:   # identifiers are NULL above: the household and person_ref are keyed tokens
        out = out.with_columns(
            pl.when(b(rows["tok_uprn"]).is_not_null()).then(pl.format("uprn:{}", b(rows["tok_uprn"])))
            .otherwise(pl.format("addr:{}", b(rows["tok_household"]))).alias("household_key"),
            b(rows["tok_person_ref"]).alias("person_ref"))
    return out.with_columns(
        pl.lit(provenance["drop_id"]).alias("drop_id"),
        pl.lit(file.path.name).alias("file_name"),
        pl.lit(file.sha256).alias("file_sha256"),
        pl.lit(provenance["ingested_at"]).alias("ingested_at"),
    )


def normalise_distinct(rows: pl.DataFrame, functions: dict[str, Any]) -> pl.DataFrame:
    """``rows`` with a ``_norm_<column>`` for each column, computed once per distinct value."""
    for column, fn in functions.items():
        distinct = rows.select(pl.col(column).unique()).with_columns(fn(pl.col(column)).alias(f"_norm_{column}"))
        rows = rows.join(distinct, on=column, how="left", nulls_equal=True)
    return rows


def household_key_expr() -> pl.Expr:
    """The UPRN where given, else the normalised address with its postcode; a postcode alone is
    not a household (a postcode covers about 15 addresses)."""
    return (
        pl.when(pl.col("uprn").is_not_null()).then(pl.format("uprn:{}", pl.col("uprn")))
        .when(pl.col("address").is_not_null() & pl.col("postcode").is_not_null())
        .then(pl.format("addr:{}|{}", pl.col("address"), pl.col("postcode")))
        .otherwise(None)
    )


def normalise_events(file: SourceFile, rows: pl.DataFrame, provenance: dict[str, Any]) -> pl.DataFrame:
    """One row per event of the file: the first valid row of the event gives its fields."""
    b = norm.blank_to_null
    source_columns = contract.SOURCE_COLUMNS[file.source]
    fields: list[pl.Expr] = []
    for column in contract.ALL_SOURCE_COLUMNS:
        kind = source_columns.get(column, "absent")
        if kind == "absent":
            dtype = pl.Boolean if column == "safeguarding_concern" else pl.Datetime("us") if column == "decision_date" else pl.String
            fields.append(pl.lit(None, dtype=dtype).alias(column))
        elif kind == "datetime":
            fields.append(norm.iso_datetime(pl.col(column)).alias(column))
        elif kind == "bool":
            fields.append(norm.boolean(pl.col(column)).alias(column))
        elif column in ("location_postcode",):   # an encoded drop sends its district only
            fields.append((b(pl.col(column)) if file.encoded else norm.postcode(pl.col(column))).alias(column))
        elif column in ("location_uprn",):
            fields.append(norm.uprn(pl.col(column)).alias(column))
        else:
            fields.append(b(pl.col(column)).alias(column))
    events = rows.select(
        pl.format(f"{file.source}:{{}}", b(pl.col("event_id"))).alias("event_key"),
        pl.lit(file.source).alias("source"),
        b(pl.col("event_id")).alias("event_id"),
        b(pl.col("event_type")).alias("event_type"),
        norm.iso_datetime(pl.col("event_date")).alias("event_date"),
        *fields,
        pl.col("_row").cast(pl.Int64).alias("row_number"),
    ).unique("event_key", keep="first", maintain_order=True)
    return events.with_columns(
        pl.lit(provenance["drop_id"]).alias("drop_id"),
        pl.lit(file.path.name).alias("file_name"),
        pl.lit(file.sha256).alias("file_sha256"),
        pl.lit(provenance["ingested_at"]).alias("ingested_at"),
    )


def _quarantine_rows(file: SourceFile, problems: pl.DataFrame, provenance: dict[str, Any]) -> pl.DataFrame:
    # a value over its length limit is kept cut to the limit (a 1 MB "name" is not stored whole)
    cut = [pl.col(c).str.slice(0, contract.MAX_LENGTHS.get(c, contract.DEFAULT_MAX_LENGTH)
                               if c in contract.COMMON_COLUMNS or c in contract.SOURCE_COLUMNS[file.source] else 4096)
           for c in file.frame.columns if c != "_row"]
    raw = file.frame.filter(pl.col("_row").is_in(problems["_row"].unique().implode())).select(
        "_row", pl.struct(cut).struct.json_encode().alias("raw_row"))
    return problems.join(raw, on="_row", how="left").select(
        pl.lit(provenance["drop_id"]).alias("drop_id"),
        pl.lit(file.path.name).alias("file_name"),
        pl.lit(file.sha256).alias("file_sha256"),
        pl.col("_row").cast(pl.Int64).alias("row_number"),
        "column_name", "reason", "raw_row",
        pl.lit(provenance["ingested_at"]).alias("ingested_at"),
    )


# --- loading (the I/O edge) -------------------------------------------------------------------

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
        refuse_erasures(store, f.path.name, f.source, f.absent_columns, good, manifest)
        plans.append((f, good, problems))
        per_file[f.path.name] = {
            "source": f.source, "status": "loaded", "rows": f.frame.height, "loaded": good.height,
            "rejected": bad_rows.len(), "mapping": f.mapping,
            **({"warnings": w} if (w := _warnings(f)) else {}),
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
            quarantine = _quarantine_rows(f, problems, provenance)
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
    store.register("_new_events", events)
    try:
        store.execute("DELETE FROM events WHERE event_key IN (SELECT event_key FROM _new_events)")
        cols = ", ".join(events.columns)
        store.execute(f"INSERT INTO events ({cols}) SELECT {cols} FROM _new_events")
    finally:
        store.unregister("_new_events")


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
