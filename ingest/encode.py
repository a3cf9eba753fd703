"""``intel encode``: an agency turns its clear drop into an encoded one before sending it.

Every row that passes the contract's row checks is written with its identifiers replaced by
keyed encodings (``ingest/encoded_contract.py``; made by ``ingest/encode_rows.py``); everything
else of the row (event, role, type, dates, sex, agency columns) is copied as it is, but the
incident location is cut to its postcode district and its UPRN keyed. Two things are written:

- ``OUT_DIR``, the drop to send: one CSV per input file and a ``manifest.json`` that declares the
  encoding and the key's fingerprint, with each file's rows and sha256;
- the *local* folder (``--local``, default ``OUT_DIR`` + ``.local`` beside it), which the agency
  keeps and never sends: ``lookup.csv`` (source, record_id -> the identity as sent: the only
  place the identity is revealed) and ``rejected.csv`` (rows the contract refuses, with the
  reason, so they are fixed at source instead of reaching the hub).

Nothing is left half-written: both folders are built under temporary names and renamed at the end.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import polars as pl

from ingest import encoded_contract as ec
from ingest import pprl
from ingest.encode_rows import Encoder
from core.errors import IntelError
from core.spreadsheet_cells import neutralise_frame
from ingest.reading import MANIFEST, SourceFile, read_drop
from ingest.replacements import withdrawn_columns
from ingest.rows import check_rows

LOOKUP_COLUMNS = ("person_ref", "forename", "middle_names", "surname", "dob", "sex", "address", "postcode", "uprn")


def _fresh_folder(path: Path, what: str) -> None:
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise IntelError(f"{what} {path} already exists and is not empty: encode into a new folder "
                         "(nothing is overwritten)")


def encode_drop(drop_dir: str | Path, out_dir: str | Path, key_file: str | Path | None,
                local_dir: str | Path | None = None, workers: int | None = None) -> dict[str, Any]:
    """Encode a clear drop into ``out_dir``; the agency's lookup and rejected rows into
    ``local_dir``. Returns the JSON summary (counts only: no identifier). ``workers``: processes
    sharing the drop's files (default one, see ``_workers``); the output is the same whatever
    the number."""
    secret = pprl.read_key_file(key_file)
    drop_dir, out_dir = Path(drop_dir), Path(out_dir)
    local_dir = Path(local_dir) if local_dir else out_dir.with_name(out_dir.name + ".local")
    files, manifest = read_drop(drop_dir)
    if "encoding" in manifest:
        raise IntelError(f"{drop_dir / MANIFEST}: the drop is already encoded (its manifest declares an encoding)")
    if out_dir.resolve() == drop_dir.resolve() or drop_dir.resolve() in out_dir.resolve().parents:
        raise IntelError(f"OUT_DIR {out_dir} must not be the drop folder or inside it")
    if local_dir.resolve() == out_dir.resolve() or out_dir.resolve() in local_dir.resolve().parents:
        raise IntelError(f"the local folder {local_dir} must not be inside OUT_DIR: it holds the identities")
    _fresh_folder(out_dir, "OUT_DIR")
    _fresh_folder(local_dir, "local folder")
    keys = ec.Keys(secret)

    tmp_out = out_dir.with_name(f".{out_dir.name}.encoding")
    tmp_local = local_dir.with_name(f".{local_dir.name}.encoding")
    for tmp in (tmp_out, tmp_local):
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    try:
        summary = _encode_files(files, manifest, secret, tmp_out, tmp_local, workers)
        new_manifest = {"extract_date": manifest.get("extract_date"), "files": summary.pop("_manifest_files"),
                        "encoding": ec.declaration(keys.fingerprint)}
        (tmp_out / MANIFEST).write_text(json.dumps(new_manifest, indent=1) + "\n", encoding="utf-8")
        for tmp, final in ((tmp_out, out_dir), (tmp_local, local_dir)):
            if final.exists():
                final.rmdir()
            tmp.rename(final)
    except BaseException:
        shutil.rmtree(tmp_out, ignore_errors=True)
        shutil.rmtree(tmp_local, ignore_errors=True)
        raise
    return {"drop": str(drop_dir), "out": str(out_dir), "local": str(local_dir),
            "key_fingerprint": keys.fingerprint, "scheme": pprl.SCHEME, **summary}


def _workers(files: list[SourceFile], workers: int | None) -> int:
    """Processes to encode with: one unless asked (two were slower than one on a 1M drop on the
    shared 2-core machine, docs/benchmarks.md: pickling the files to the workers and encoding the
    values the files share twice cost more than the second core gave)."""
    return max(1, min(workers or 1, len(files)))


def _groups(files: list[SourceFile], n: int) -> list[list[SourceFile]]:
    """``files`` in ``n`` groups of about equal rows (largest file first, each to the lightest group)."""
    groups: list[list[SourceFile]] = [[] for _ in range(n)]
    rows = [0] * n
    for f in sorted(files, key=lambda f: -f.frame.height):
        i = rows.index(min(rows))
        groups[i].append(f)
        rows[i] += f.frame.height
    return [g for g in groups if g]


def _encode_files(files: list[SourceFile], manifest: dict, secret: bytes, out: Path, local: Path,
                  workers: int | None = None) -> dict[str, Any]:
    names: dict[str, str] = {}
    for f in files:
        name = f.path.stem + ".csv"
        if name in names:
            raise IntelError(f"{f.path.name}: two files of the drop would both be written as {name}")
        names[name] = f.path.name
    groups = _groups(files, _workers(files, workers))
    if len(groups) == 1:
        results = _encode_group(files, manifest, secret, out)
    else:   # spawned, not forked: polars' thread pool does not survive a fork
        with ProcessPoolExecutor(len(groups), mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(_encode_group, g, manifest, secret, out) for g in groups]
            results = [r for fut in futures for r in fut.result()]
    done = {r["file"]: r for r in results}
    ordered = [done[f.path.name] for f in files]   # the drop's order, however the work was shared
    # the agency's staff open these in a spreadsheet: no cell runs (core/spreadsheet_cells.py)
    neutralise_frame(pl.concat([r["lookup"] for r in ordered])).write_csv(local / "lookup.csv")
    if rejected := [r["rejected"] for r in ordered if r["rejected"] is not None]:
        neutralise_frame(pl.concat(rejected)).write_csv(local / "rejected.csv")
    per_file = {r["file"]: r["summary"] for r in ordered}
    return {"encoded": sum(v["encoded"] for v in per_file.values()),
            "rejected": sum(v["rejected"] for v in per_file.values()),
            "files": per_file, "_manifest_files": {r["summary"]["written"]: r["manifest"] for r in ordered}}


def _encode_group(files: list[SourceFile], manifest: dict, secret: bytes, out: Path) -> list[dict[str, Any]]:
    """Check, encode and write ``files`` (in this process or a worker); for each, what the drop's
    manifest, the summary and the agency's local files need."""
    encoder = Encoder(ec.Keys(secret))   # distinct values encoded once across the group's files
    results = []
    for f in files:
        problems = check_rows(f)
        bad = problems["_row"].unique()
        good = f.frame.filter(~pl.col("_row").is_in(bad.implode()))
        encoded = encoder.encode_frame(good, f.source, f.absent_columns)
        name = f.path.stem + ".csv"
        path = out / name
        encoded.write_csv(path)
        entry: dict[str, Any] = {"rows": encoded.height, "sha256": _sha256(path)}
        # columns the agency withdraws on purpose stay withdrawn (with the encodings made from them)
        if withdrawn := sorted(withdrawn_columns(manifest, f.path.name)):
            entry["withdrawn_columns"] = withdrawn
        rejected = None
        if problems.height:
            rejected = problems.join(f.frame.select("_row", "record_id"), on="_row", how="left").select(
                pl.lit(f.path.name).alias("file"), pl.col("_row").alias("row_number"), "record_id",
                "column_name", "reason")
        results.append({
            "file": f.path.name, "manifest": entry, "rejected": rejected,
            "lookup": good.select(pl.lit(f.source).alias("source"), "record_id",
                                  *[pl.col(c) for c in LOOKUP_COLUMNS], pl.lit(f.path.name).alias("file")),
            "summary": {"source": f.source, "rows": f.frame.height, "encoded": encoded.height,
                        "rejected": bad.len(), "written": name}})
    return results


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
