"""The hub's side of an encoded drop: the declaration, the checks, and the encodings' table.

An encoded drop is *declared* in its manifest (``"encoding": {...}``), never guessed from its
columns. Everything here refuses the whole drop (``IntelError``: nothing is loaded) when:

- the declaration names an unknown scheme, a malformed key fingerprint, or filter parameters
  other than this hub's (filters of other sizes cannot be compared);
- the drop mixes clear and encoded identifiers (an encoded file that still carries a clear
  identifier with a value, or encoded columns in a drop that declares no encoding);
  an encoded column may be absent (the replacement check covers it, ingest/replacements.py);
- any encoding is malformed (a filter that is not base64 of its exact length, a token that is
  not 16 hex digits): the first bad row and column are named;
- the drop does not fit the store: an encoded drop into a clear store or the reverse, or a
  drop encoded with another key than the store's (its fingerprint differs), which would
  otherwise link nothing and say nothing.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import polars as pl

from core.store_mode import CLEAR, ENCODED, store_encoding
from ingest import encoded_contract as ec
from ingest import pprl
from core.errors import IntelError

_HEX16 = re.compile(r"^[0-9a-f]{16}$")


def declared(manifest: dict[str, Any], name: str = "manifest.json") -> dict[str, Any] | None:
    """The drop's checked encoding declaration, or ``None`` for a clear drop."""
    if "encoding" not in manifest:
        return None
    enc = manifest["encoding"]
    if not isinstance(enc, dict):
        raise IntelError(f"{name}: 'encoding' must be an object (written by `intel encode`)")
    if enc.get("scheme") != pprl.SCHEME:
        raise IntelError(f"{name}: encoding scheme {enc.get('scheme')!r} is not one this hub links "
                         f"(it links {pprl.SCHEME!r})")
    fp = enc.get("key_fingerprint")
    if not isinstance(fp, str) or not _HEX16.match(fp):
        raise IntelError(f"{name}: encoding key_fingerprint {fp!r} is not 16 hex digits")
    expected = ec.declaration(fp)
    if enc.get("filters") != expected["filters"]:
        raise IntelError(f"{name}: the drop's Bloom filter parameters {enc.get('filters')} differ from this "
                         f"hub's {expected['filters']}: filters of other sizes cannot be compared")
    if enc.get("tokens") != expected["tokens"]:
        raise IntelError(f"{name}: the drop's keyed tokens {enc.get('tokens')} differ from this hub's "
                         f"{expected['tokens']}")
    return enc


def check_columns(file_name: str, frame: pl.DataFrame, encoding: dict[str, Any] | None) -> None:
    """Refuse a file that mixes clear and encoded identifiers."""
    encoded_cols = [c for c in frame.columns if c in ec.ENCODED_COLUMNS or c.startswith(("enc_", "tok_"))]
    if encoding is None:
        if encoded_cols:
            raise IntelError(
                f"{file_name}: carries encoded column(s) {', '.join(encoded_cols[:4])} but manifest.json declares "
                "no encoding: an encoded drop must be declared in its manifest (`intel encode` writes it)")
        return
    clear = [c for c in ec.CLEAR_IDENTIFIERS if c in frame.columns
             and frame.select((pl.col(c).cast(pl.String).fill_null("").str.strip_chars() != "").any()).item()]
    if clear:
        raise IntelError(f"{file_name}: the drop is declared encoded but this file carries clear identifier(s) "
                         f"{', '.join(clear)}: a drop is clear or encoded, never both")
    # an encoded column may be absent, as an optional clear one may: a file whose agency lacked
    # the identifier sends no encoding of it, and a re-sent file that would erase encodings the
    # store holds is refused by the replacement check (ingest/replacements.py)


def check_values(file_name: str, frame: pl.DataFrame) -> None:
    """Every filter base64 of exactly its length, every token 16 hex digits; else refuse,
    naming the first bad row (1-based data row) and column."""
    checks = []
    for column, (l, _k) in ec.FILTERS.items():
        length = 4 * ((l // 8 + 2) // 3)
        pattern = rf"^[A-Za-z0-9+/]{{{length - 4}}}[A-Za-z0-9+/]{{2}}[A-Za-z0-9+/=]{{2}}$"
        checks.append((column, f"not a Bloom filter of {l} bits (base64 of {l // 8} bytes)", pattern))
    for column in ec.TOKENS:
        checks.append((column, "not a keyed token (16 hex digits)", r"^[0-9a-f]{16}$"))
    checks.append(("postcode_district", "not a postcode district (e.g. SW1A)", r"^[A-Z]{1,2}[0-9][A-Z0-9]?$"))
    for column, what, pattern in checks:
        value = pl.col(column).fill_null("")
        bad = frame.filter((value != "") & ~value.str.contains(pattern))
        if bad.height:
            row = bad.row(0, named=True)
            raise IntelError(f"{file_name}: row {row['_row']}, column {column}: {what}; the drop is refused "
                             f"whole ({bad.height} row(s) malformed in this column)")


def encodings_frame(source: str, rows: pl.DataFrame, drop_id: str) -> pl.DataFrame:
    """The ``mention_encodings`` rows of a file's valid rows."""
    def nullable(c: str) -> pl.Expr:
        return pl.when(pl.col(c).str.strip_chars() == "").then(None).otherwise(pl.col(c).str.strip_chars())

    return rows.select(
        pl.format(f"{source}:{{}}", pl.col("record_id").str.strip_chars()).alias("mention_id"),
        pl.lit(source).alias("source"),
        *[nullable(c).str.decode("base64").alias(c) for c in ec.FILTERS],
        *[nullable(c).alias(c) for c in ec.TOKENS],
        nullable("postcode_district").alias("postcode_district"),
        pl.lit(drop_id).alias("drop_id"),
    )


def check_store(store: Any, encoding: dict[str, Any] | None) -> None:
    """Refuse a drop whose kind (clear or encoded) or key differs from the store's."""
    mode = store_encoding(store)
    if mode is None:
        return
    if encoding is None and mode["mode"] == ENCODED:
        raise IntelError("this store links encoded identifiers (key fingerprint "
                         f"{mode['key_fingerprint']}) and the drop is clear: a store is clear or encoded, never "
                         "both (encode the drop with `intel encode` and the partners' key)")
    if encoding is not None and mode["mode"] == CLEAR:
        raise IntelError("this store links clear identifiers and the drop is encoded: a store is clear or "
                         "encoded, never both (use a new store for encoded linkage)")
    if encoding is not None and encoding["key_fingerprint"] != mode["key_fingerprint"]:
        raise IntelError(f"the drop was encoded with another key (fingerprint {encoding['key_fingerprint']}) than "
                         f"this store's (fingerprint {mode['key_fingerprint']}): its encodings would match nothing. "
                         "Re-encode it with the partners' current key (see docs/threat-model.md on rotation)")


def record_mode(store: Any, encoding: dict[str, Any] | None, drop_id: str, now: datetime) -> None:
    """Set the store's mode from its first drop (inside the ingest's transaction, after
    ``check_store``: an older clear store only ever gets a clear drop here)."""
    if store.scalar("SELECT count(*) FROM store_encoding"):
        return
    store.execute("INSERT INTO store_encoding VALUES (?, ?, ?, ?, ?, ?)",
                  [ENCODED if encoding else CLEAR, encoding and encoding["scheme"],
                   encoding and encoding["key_fingerprint"], encoding and json.dumps(encoding, sort_keys=True),
                   now, drop_id])


def load_encodings(store: Any, frame: pl.DataFrame) -> None:
    """Insert or replace (a re-sent record) the encodings of the given mentions."""
    store.replace_rows("mention_encodings", frame, "mention_id")
