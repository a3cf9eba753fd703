"""Bloom filters and keyed tokens of many values at once: the fast path of ``intel encode``.

``ingest/pprl.py`` is the reference (one value at a time, checked bit for bit against clkhash);
this module gives the same bits for a whole column of distinct values, without a Python object
per q-gram:

1. the values' bigrams are cut by polars (``str.slice`` over an exploded range of offsets), so
   the only per-bigram data are two integer arrays (which value, which distinct bigram);
2. keyed BLAKE2b runs once per *distinct* bigram of the field (a few thousand, even for a
   million addresses), giving each bigram's filter as a row of bytes in clkhash's bit order;
3. each value's filter is the OR of its bigrams' rows: ``numpy.bitwise_or.reduceat`` over the
   rows gathered in value order;
4. the filters go to base64 in polars (``bin.encode``) from one contiguous buffer.

Tokens (HMAC-SHA256) cannot be batched by hashlib; they are one C call per distinct value.
``tests/ingest/test_pprl_batch.py`` holds both paths equal on names, dates, addresses and edge
cases (empty, one letter, non-ASCII).
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence

import numpy as np
import polars as pl
import pyarrow as pa

from ingest import pprl

# gather at most this many bigram rows at once (bounds the memory of step 3)
_CHUNK_BIGRAMS = 1 << 20


def bigram_codes(values: pl.Series) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """For non-null, non-empty ``values`` (a String series): the value index and the distinct
    bigram index of every bigram, in value order, and the distinct bigrams (clkhash's
    ``NgramComparison(2)``: the value padded with a space each side)."""
    padded = pl.DataFrame({"p": " " + values + " "})
    grams = (padded.with_row_index("i")
             .with_columns(pl.int_ranges(0, pl.col("p").str.len_chars() - 1, dtype=pl.Int64).alias("o"))
             .explode("o")
             .select("i", pl.col("p").str.slice(pl.col("o"), 2).alias("g")))
    distinct = grams["g"].unique().sort()
    ids = pl.DataFrame({"g": distinct}).with_row_index("gid")
    gid = grams.join(ids, on="g", how="left", maintain_order="left")["gid"]
    return grams["i"].to_numpy().astype(np.int64), gid.to_numpy().astype(np.int64), distinct.to_list()


def filters(field: pprl.BloomField, values: Sequence[str | None] | pl.Series) -> np.ndarray:
    """The filters of ``values`` as an ``(n, l/8)`` uint8 array, row i equal to
    ``field.encode(values[i])`` (all zero for a missing or empty value)."""
    series = values if isinstance(values, pl.Series) else pl.Series("v", list(values), dtype=pl.String)
    series = series.cast(pl.String)
    nbytes = field.l // 8
    out = np.zeros((series.len(), nbytes), dtype=np.uint8)
    present = np.flatnonzero((series.is_not_null() & (series.str.len_chars() > 0)).to_numpy())
    if not present.size:
        return out
    value_idx, gram_idx, grams = bigram_codes(series.gather(present))
    masks = np.frombuffer(b"".join(pprl._to_bytes(field.mask(g), field.l) for g in grams),
                          dtype=np.uint8).reshape(len(grams), nbytes)
    # the explode kept value order, so each value's bigrams are one run starting at starts[j]
    starts = np.flatnonzero(np.concatenate(([True], value_idx[1:] != value_idx[:-1])))
    bounds = np.append(starts, value_idx.size)
    per_chunk = max(1, _CHUNK_BIGRAMS // 64)   # values per chunk (a name or address has < 64 bigrams)
    for lo in range(0, starts.size, per_chunk):
        hi = min(lo + per_chunk, starts.size)
        rows = masks[gram_idx[bounds[lo]:bounds[hi]]]
        out[present[value_idx[starts[lo:hi]]]] = np.bitwise_or.reduceat(rows, starts[lo:hi] - bounds[lo], axis=0)
    return out


def base64_rows(rows: np.ndarray, missing: np.ndarray | None = None) -> pl.Series:
    """Base64 of each row of a uint8 array (``pprl.b64`` of its bytes); null where ``missing``."""
    n, width = rows.shape
    arr = pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), n, [None, pa.py_buffer(np.ascontiguousarray(rows))])
    encoded = pl.Series(arr.cast(pa.binary())).bin.encode("base64")
    if missing is not None and missing.any():
        encoded = pl.select(pl.when(pl.Series(missing)).then(None).otherwise(encoded)).to_series()
    return encoded


def tokens(field: pprl.TokenField, values: Sequence[str]) -> list[str]:
    """``field.token(v)`` for each of ``values`` (one HMAC each, without the per-call overhead)."""
    key, digest = field.key, hmac.digest
    return [digest(key, v.encode("utf-8"), "sha256")[:8].hex() for v in values]
