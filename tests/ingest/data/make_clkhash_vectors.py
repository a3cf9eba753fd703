"""Writes clkhash_vectors.json: Bloom filters and derived keys made by clkhash itself.

Run with clkhash installed (0.18.3 was used: ``pip install clkhash==0.18.3`` in a scratch
virtual environment; it pins an old ``cryptography``, so it is not a dependency of the project):

    python tests/ingest/data/make_clkhash_vectors.py > tests/ingest/data/clkhash_vectors.json

tests/ingest/test_pprl.py checks that ingest/pprl.py reproduces every vector bit for bit.
"""

import json

import clkhash
from clkhash.bloomfilter import blake_encode_ngrams
from clkhash.comparators import NgramComparison
from clkhash.key_derivation import generate_key_lists, hkdf

SECRET = b"correct horse battery staple, shared by the partners"
SALT = b"mash-intel pprl"
VALUES = ["smith", "smyth", "o'brien", "zoe", "jean-paul", "a", "", "1984-07-03", "y:1984", "flat 3 12 high street"]


def main() -> None:
    keys = generate_key_lists(SECRET, 4, num_hashing_methods=1, key_size=64, salt=SALT)
    filters = []
    for l, k in ((256, 10), (512, 8), (64, 40)):
        for v in VALUES:
            tokens = list(NgramComparison(2).tokenize(v))
            bf = blake_encode_ngrams(tokens, (keys[1][0],), [k] * len(tokens), l, "utf-8")
            filters.append({"value": v, "tokens": tokens, "l": l, "k": k, "hex": bf.tobytes().hex()})
    print(json.dumps({
        "clkhash": clkhash.__version__ if hasattr(clkhash, "__version__") else "0.18.3",
        "secret": SECRET.decode(), "salt": SALT.decode(),
        "keys_hex": [k[0].hex() for k in keys],
        "hkdf_no_salt_hex": [k.hex() for k in hkdf(SECRET, 2, salt=None, key_size=64)],
        "filter_key_index": 1,
        "filters": filters,
    }, indent=1))


if __name__ == "__main__":
    main()
