"""``intel encode``: an agency turns its clear drop into an encoded one before sending it.

Every row that passes the contract's row checks is written with its identifiers replaced by
keyed encodings (``ingest/encoded_contract.py``); everything else of the row (event, role, type,
dates, sex, agency columns) is copied as it is, but the incident location is cut to its
postcode district and its UPRN keyed. Two things are written:

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
import re
import shutil
from pathlib import Path
from typing import Any

import jellyfish
import polars as pl

from ingest import encoded_contract as ec
from ingest import pprl
from ingest import normalise as norm
from core.errors import IntelError
from ingest.reading import MANIFEST, SourceFile, read_drop
from ingest.replacements import withdrawn_columns
from ingest.rows import check_rows, household_key_expr, normalise_distinct

_ADDRESS_NUMBER = re.compile(r"^\S*[0-9]\S*")
LOOKUP_COLUMNS = ("person_ref", "forename", "middle_names", "surname", "dob", "sex", "address", "postcode", "uprn")


def _map(series: pl.Series, fn, cache: dict[str, str | None]) -> pl.Series:
    """``fn`` applied once per distinct non-null value (names and dates repeat a great deal),
    remembered in ``cache`` across the drop's files."""
    uniq = series.drop_nulls().unique()
    values = []
    for v in uniq.to_list():
        got = cache.get(v, cache)
        if got is cache:
            got = cache[v] = fn(v)
        values.append(got)
    return series.replace_strict(uniq, pl.Series(values, dtype=pl.String), default=None,
                                 return_dtype=pl.String).alias(series.name)


_SKIP_WORDS = ("flat", "apartment", "apt", "unit", "the")


def _address_signature() -> pl.Expr:
    """``postcode|numbers|street word`` of a normalised address: the same expression as
    ``graphs.dwellings.address_signature`` (graphs is on this floor, so it is not imported;
    tests/ingest/test_encode.py holds the two equal). The hub resolves households on its token."""
    words = pl.col("address").str.extract_all(r"[a-z][a-z'-]*")
    nums = pl.col("address").str.extract_all(r"\d+[a-z]?").list.join(" ")
    street = words.list.eval(pl.element().filter(~pl.element().is_in(list(_SKIP_WORDS)))).list.first()
    return (pl.when(pl.col("address").is_not_null() & pl.col("postcode").is_not_null())
            .then(pl.format("{}|{}|{}", pl.col("postcode"), nums, street.fill_null("")))
            .otherwise(None))


def _soundex(name: str) -> str | None:
    letters = re.sub(r"[^a-z]", "", name)
    return jellyfish.soundex(letters) if letters else None


def encode_frame(frame: pl.DataFrame, source: str, keys: ec.Keys,
                 caches: dict[str, dict] | None = None, absent: tuple[str, ...] = ()) -> pl.DataFrame:
    """The encoded rows of a checked frame (all-String contract columns): clear identifiers out,
    ``ec.ENCODED_COLUMNS`` in. ``absent``: the contract columns the agency's file lacked; they and
    the encodings made only from them stay absent (sent blank, they would erase the values of the
    rows a re-sent file replaces at the hub, unseen by its replacement check)."""
    b = norm.blank_to_null
    # names, addresses and postcodes repeat a great deal: normalised once per distinct value
    rows = normalise_distinct(frame, {"forename": norm.name, "middle_names": norm.name, "surname": norm.name,
                                       "address": norm.address, "postcode": norm.postcode})
    frame = rows   # the join may reorder rows: every column below comes from this one frame
    n = rows.select(
        pl.col("_norm_forename").alias("forename"),
        pl.col("_norm_middle_names").alias("middle_names"),
        pl.col("_norm_surname").alias("surname"),
        norm.iso_date(pl.col("dob")).dt.strftime("%Y-%m-%d").alias("dob"),
        pl.col("_norm_address").alias("address"),
        pl.col("_norm_postcode").alias("postcode"),
        # a postcode that is not a UK one is compared as sent, stripped and upper-cased
        pl.coalesce(pl.col("_norm_postcode"),
                    b(pl.col("postcode")).str.to_uppercase().str.replace_all(r"[^A-Z0-9]", "")).alias("pc_value"),
        norm.uprn(pl.col("uprn")).alias("uprn"),
        pl.format(f"{source}|{{}}", b(pl.col("person_ref"))).alias("person_ref"),
    )
    n = n.with_columns(household_key_expr().alias("household"), _address_signature().alias("address_sig"))
    f, t = keys.filters, keys.tokens
    bf = {c: (lambda v, c=c: pprl.b64(f[c].encode(v))) for c in ec.FILTERS}
    tok = {c: (lambda v, c=c: t[c].token(v)) for c in ec.TOKENS}

    def year_window(d: str) -> str:   # cached per date by _map; the masks per year by the field
        y = int(d[:4])
        return pprl.b64(f["enc_dob_year"].encode_tokens(str(y + i) for i in range(-ec.YEAR_WINDOW, ec.YEAR_WINDOW + 1)))

    def maybe(fn, pre):
        return lambda v: (lambda x: None if x is None else fn(x))(pre(v))

    dob = n["dob"]
    specs = {   # output column: (normalised input, function of one distinct value)
        "enc_forename": ("forename", bf["enc_forename"]),
        "enc_middle_names": ("middle_names", bf["enc_middle_names"]),
        "enc_surname": ("surname", bf["enc_surname"]),
        "enc_dob": ("dob", bf["enc_dob"]),
        "enc_dob_year": ("dob", year_window),
        "enc_address": ("address", bf["enc_address"]),
        "enc_postcode": ("pc_value", bf["enc_postcode"]),
        "tok_forename": ("forename", tok["tok_forename"]),
        "tok_surname": ("surname", tok["tok_surname"]),
        "tok_forename_sx": ("forename", maybe(tok["tok_forename_sx"], _soundex)),
        "tok_surname_sx": ("surname", maybe(tok["tok_surname_sx"], _soundex)),
        "tok_dob": ("dob", tok["tok_dob"]),
        "tok_dob_year": ("dob", lambda d: tok["tok_dob_year"](d[:4])),
        "tok_dob_month": ("dob", lambda d: tok["tok_dob_month"](str(int(d[5:7])))),
        "tok_dob_day": ("dob", lambda d: tok["tok_dob_day"](str(int(d[8:10])))),
        "tok_postcode": ("pc_value", tok["tok_postcode"]),
        "tok_postcode_sector": ("postcode", lambda p: tok["tok_postcode_sector"](p[:-2])),
        "tok_address": ("address", tok["tok_address"]),
        "tok_address_number": ("address", maybe(
            tok["tok_address_number"], lambda a: (m.group(0) if (m := _ADDRESS_NUMBER.match(a)) else None))),
        "tok_uprn": ("uprn", tok["tok_uprn"]),
        "tok_person_ref": ("person_ref", tok["tok_person_ref"]),
        "tok_household": ("household", tok["tok_household"]),
        "tok_address_sig": ("address_sig", tok["tok_address_sig"]),
        "tok_forename_initial": ("forename", lambda v: tok["tok_forename_initial"](v[0])),
        "tok_surname_initial": ("surname", lambda v: tok["tok_surname_initial"](v[0])),
    }
    caches = caches if caches is not None else {}
    out = {c: _map(n[col], fn, caches.setdefault(c, {})) for c, (col, fn) in specs.items()}
    out["postcode_district"] = n["postcode"].str.split(" ").list.first()
    missing = set(absent)
    for c in ec.made_from_nothing(missing):
        del out[c]
    keep = [c for c in frame.columns if c not in ec.CLEAR_IDENTIFIERS and c not in missing and c != "_row"
            and not c.startswith("_norm_")]
    encoded = frame.select(keep).with_columns(**{c: s.fill_null("") for c, s in out.items()})
    if "location_postcode" in encoded.columns:   # police: where it happened, cut to its district
        encoded = encoded.with_columns(
            norm.postcode(pl.col("location_postcode")).str.split(" ").list.first().fill_null("")
            .alias("location_postcode"))
    if "location_uprn" in encoded.columns:
        encoded = encoded.with_columns(
            _map(frame.select(norm.uprn(pl.col("location_uprn"))).to_series(), tok["tok_uprn"],
                 caches.setdefault("location_uprn", {}))
            .fill_null("").alias("location_uprn"))
    return encoded


def _fresh_folder(path: Path, what: str) -> None:
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise IntelError(f"{what} {path} already exists and is not empty: encode into a new folder "
                         "(nothing is overwritten)")


def encode_drop(drop_dir: str | Path, out_dir: str | Path, key_file: str | Path | None,
                local_dir: str | Path | None = None) -> dict[str, Any]:
    """Encode a clear drop into ``out_dir``; the agency's lookup and rejected rows into
    ``local_dir``. Returns the JSON summary (counts only: no identifier)."""
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
        summary = _encode_files(files, manifest, keys, tmp_out, tmp_local)
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


def _encode_files(files: list[SourceFile], manifest: dict, keys: ec.Keys, out: Path, local: Path) -> dict[str, Any]:
    per_file: dict[str, Any] = {}
    manifest_files: dict[str, Any] = {}
    lookups, rejected = [], []
    caches: dict[str, dict] = {}   # distinct values encoded once across the drop's files
    for f in files:
        problems = check_rows(f)
        bad = problems["_row"].unique()
        good = f.frame.filter(~pl.col("_row").is_in(bad.implode()))
        encoded = encode_frame(good, f.source, keys, caches, f.absent_columns)
        name = f.path.stem + ".csv"
        if name in manifest_files:
            raise IntelError(f"{f.path.name}: two files of the drop would both be written as {name}")
        path = out / name
        encoded.write_csv(path)
        manifest_files[name] = {"rows": encoded.height, "sha256": _sha256(path)}
        # columns the agency withdraws on purpose stay withdrawn (with the encodings made from them)
        if withdrawn := sorted(withdrawn_columns(manifest, f.path.name)):
            manifest_files[name]["withdrawn_columns"] = withdrawn
        lookups.append(good.select(pl.lit(f.source).alias("source"), "record_id",
                                   *[pl.col(c) for c in LOOKUP_COLUMNS], pl.lit(f.path.name).alias("file")))
        if problems.height:
            rejected.append(problems.join(f.frame.select("_row", "record_id"), on="_row", how="left").select(
                pl.lit(f.path.name).alias("file"), pl.col("_row").alias("row_number"), "record_id",
                "column_name", "reason"))
        per_file[f.path.name] = {"source": f.source, "rows": f.frame.height, "encoded": encoded.height,
                                 "rejected": bad.len(), "written": name}
    pl.concat(lookups).write_csv(local / "lookup.csv")
    if rejected:
        pl.concat(rejected).write_csv(local / "rejected.csv")
    return {"encoded": sum(v["encoded"] for v in per_file.values()),
            "rejected": sum(v["rejected"] for v in per_file.values()),
            "files": per_file, "_manifest_files": manifest_files}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
