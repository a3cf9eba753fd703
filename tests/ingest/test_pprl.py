"""ingest/pprl.py reproduces clkhash 0.18.3 bit for bit (vectors made by clkhash itself:
tests/ingest/data/make_clkhash_vectors.py), and keys are refused when missing or short."""

import json
from pathlib import Path

import pytest

from ingest import pprl
from core.errors import IntelError

VECTORS = json.loads((Path(__file__).parent / "data" / "clkhash_vectors.json").read_text())


def test_hkdf_keys_are_clkhash_keys():
    keys = pprl.derive_keys(VECTORS["secret"].encode(), len(VECTORS["keys_hex"]), salt=VECTORS["salt"].encode())
    assert [k.hex() for k in keys] == VECTORS["keys_hex"]
    unsalted = pprl.derive_keys(VECTORS["secret"].encode(), 2, salt=None)
    assert [k.hex() for k in unsalted] == VECTORS["hkdf_no_salt_hex"]


@pytest.mark.parametrize("vector", VECTORS["filters"], ids=lambda v: f"{v['value'] or 'empty'}-{v['l']}-{v['k']}")
def test_bloom_filters_are_clkhash_filters(vector):
    key = bytes.fromhex(VECTORS["keys_hex"][VECTORS["filter_key_index"]])
    assert pprl.bigrams(vector["value"]) == vector["tokens"]
    field = pprl.BloomField(key, vector["l"], vector["k"])
    assert field.encode(vector["value"]).hex() == vector["hex"]


def test_dice_of_filters_follows_bigram_similarity():
    field = pprl.BloomField(b"k" * 64, 256, 10)

    def dice(a: str, b: str) -> float:
        x, y = (int.from_bytes(field.encode(v), "big") for v in (a, b))
        return 2 * (x & y).bit_count() / (x.bit_count() + y.bit_count())

    assert dice("smith", "smith") == 1.0
    assert dice("smith", "smyth") > 0.5 > dice("smith", "jones")


def test_fingerprint_names_the_key_without_revealing_it():
    a, b = b"a" * 32, b"b" * 32
    assert pprl.fingerprint(a) == pprl.fingerprint(a) != pprl.fingerprint(b)
    assert len(pprl.fingerprint(a)) == 16 and a.hex()[:16] not in pprl.fingerprint(a)


def test_key_file_refused_when_missing_empty_or_short(tmp_path):
    with pytest.raises(IntelError, match="--key-file is required"):
        pprl.read_key_file(None)
    with pytest.raises(IntelError, match="does not exist"):
        pprl.read_key_file(tmp_path / "nope.key")
    with pytest.raises(IntelError, match="is not a file"):
        pprl.read_key_file(tmp_path)
    short = tmp_path / "short.key"
    short.write_text("abc\n")
    with pytest.raises(IntelError, match="3 bytes.*at least 32"):
        pprl.read_key_file(short)
    good = tmp_path / "good.key"
    good.write_text("ab" * 32 + "\n")
    assert pprl.read_key_file(good) == b"ab" * 32
