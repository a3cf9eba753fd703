"""The fast path of ``intel encode`` gives the reference path's bits: batch filters against
``pprl.BloomField`` (itself checked against clkhash) and clkhash's own vectors, and a whole drop
encoded by both engines, text for text."""

from __future__ import annotations

import hashlib
import json
import random
import string
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from fixtures.world import generate_world
from ingest import encoded_contract as ec
from ingest import pprl, pprl_batch
from ingest.encode import encode_drop
from ingest.encode_rows import Encoder
from ingest.reading import read_drop
from ingest.rows import check_rows

VECTORS = json.loads((Path(__file__).parent / "data" / "clkhash_vectors.json").read_text())


def test_batch_filters_are_clkhash_filters():
    key = bytes.fromhex(VECTORS["keys_hex"][VECTORS["filter_key_index"]])
    for (l, k) in {(v["l"], v["k"]) for v in VECTORS["filters"]}:
        vectors = [v for v in VECTORS["filters"] if (v["l"], v["k"]) == (l, k)]
        rows = pprl_batch.filters(pprl.BloomField(key, l, k), [v["value"] for v in vectors])
        assert [bytes(r).hex() for r in rows] == [v["hex"] for v in vectors]


def test_batch_filters_and_tokens_equal_the_reference_one_by_one():
    rng = random.Random(7)
    odd = ["", "a", "jo", "o'neil-smythe", "zoë", "ñandú 東京", "  ", "x" * 300, "12 high street", "smith", "smith"]
    values = odd + ["".join(rng.choices(string.ascii_lowercase + " -'0123456789", k=rng.randint(1, 60)))
                    for _ in range(3000)] + [None, None]
    rng.shuffle(values)
    for l, k in ((256, 10), (512, 8), (64, 40), (256, 4)):
        field = pprl.BloomField(bytes(range(64)), l, k)
        rows = pprl_batch.filters(field, values)
        assert rows.shape == (len(values), l // 8)
        assert [bytes(r) for r in rows] == [field.encode(v or "") for v in values]
        b64 = pprl_batch.base64_rows(rows, np.array([v is None for v in values])).to_list()
        assert b64 == [None if v is None else pprl.b64(field.encode(v)) for v in values]
    tok = pprl.TokenField(b"t" * 64)
    present = [v for v in values if v is not None]
    assert pprl_batch.tokens(tok, present) == [tok.token(v) for v in present]


def test_no_values_and_only_missing_values():
    field = pprl.BloomField(b"k" * 64, 256, 10)
    assert pprl_batch.filters(field, []).shape == (0, 32)
    assert not pprl_batch.filters(field, [None, ""]).any()
    assert pprl_batch.base64_rows(np.zeros((0, 32), dtype=np.uint8)).to_list() == []


@pytest.fixture(scope="module")
def checked_files(tmp_path_factory):
    base = tmp_path_factory.mktemp("pprl_batch")
    generate_world(base / "world", households=30, seed=11)
    files, _ = read_drop(base / "world" / "drop")
    out = []
    for f in files:
        bad = check_rows(f)["_row"].unique()
        out.append((f.source, f.frame.filter(~pl.col("_row").is_in(bad.implode()))))
    return out


def test_the_fast_engine_encodes_a_drop_as_the_reference_engine(checked_files):
    keys = ec.Keys(b"5f" * 32)
    fast, reference = Encoder(keys), Encoder(keys, fast=False)
    total = 0
    for source, frame in checked_files:
        a, b = fast.encode_frame(frame, source), reference.encode_frame(frame, source)
        assert a.columns == b.columns and a.equals(b), source
        assert a["record_id"].to_list() == frame["record_id"].to_list()   # rows kept in their order
        total += a.height
        for col in ec.FILTERS:
            assert a[col].str.len_chars().max() > 0, col
    assert total > 400


def test_two_processes_write_what_one_writes(tmp_path):
    """encode_drop shares a large drop's files between processes: the files, the manifest and
    the agency's lookup are byte for byte those of one process."""
    generate_world(tmp_path / "world", households=15, seed=3)
    police = tmp_path / "world" / "drop" / "police.csv"   # a row the contract refuses: rejected.csv too
    frame = pl.read_csv(police, infer_schema=False)
    frame.with_columns(pl.when(pl.int_range(pl.len()) == 3).then(pl.lit("not a date"))
                       .otherwise(pl.col("event_date")).alias("event_date")).write_csv(police)
    manifest = json.loads((police.parent / "manifest.json").read_text())
    manifest["files"]["police.csv"]["sha256"] = hashlib.sha256(police.read_bytes()).hexdigest()
    (police.parent / "manifest.json").write_text(json.dumps(manifest))
    (tmp_path / "k.key").write_text("5f" * 32)
    for workers in (1, 2):
        encode_drop(tmp_path / "world" / "drop", tmp_path / f"out{workers}", tmp_path / "k.key", workers=workers)
    for folder in ("out{}", "out{}.local"):
        one, two = (sorted((tmp_path / folder.format(w)).iterdir()) for w in (1, 2))
        assert [p.name for p in one] == [p.name for p in two]
        for a, b in zip(one, two):
            assert a.read_bytes() == b.read_bytes(), a.name
    assert len(list((tmp_path / "out2").iterdir())) == 4 and (tmp_path / "out2.local" / "rejected.csv").exists()
