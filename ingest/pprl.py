"""The primitives of privacy-preserving record linkage (PPRL): keys, Bloom filters, keyed tokens.

An agency and the hub's partners share one secret (the *linkage key*). From it, per field, a key
is derived with HKDF (RFC 5869, SHA-256), the way clkhash's ``generate_key_lists`` derives them,
so no two fields (and no two uses) share a key:

- **Bloom filters** (Schnell's cryptographic long-term keys, per field): the value's q-grams
  (bigrams, padded with one space each side, as clkhash's ``NgramComparison(2)``) are each hashed
  ``k`` times into ``l`` bits with keyed BLAKE2b (clkhash's ``blakeHash``: one keyed BLAKE2b
  call gives 32 16-bit indexes; not the double-hashing scheme of the original paper, which
  Kroll and Steinmetzer broke). Two filters' Dice coefficient approximates the q-gram
  similarity of the values; tests compare the bits with clkhash 0.18.3's own output.
- **keyed tokens**: HMAC-SHA256 of a normalised value under the field's key, 64 bits as 16 hex
  digits; equal values give equal tokens, nothing else can be read from them without the key.
- **the key fingerprint**: an HMAC of a fixed label, so a drop says which key made it without
  revealing anything about the key.

This is the reference, one value at a time (each q-gram's bit mask cached per field, OR-ed as
Python integers); ``ingest/pprl_batch.py`` gives the same bits for a whole column of distinct
values at once, and ``intel encode`` uses it (tests hold the two equal).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import IntelError

SCHEME = "mash-intel-pprl/1"
MIN_KEY_BYTES = 32
HKDF_SALT = b"mash-intel pprl"          # fixed: the secret is the only variable input
FINGERPRINT_LABEL = b"mash-intel pprl key fingerprint v1"


# --- keys -----------------------------------------------------------------------------------

def read_key_file(path: str | Path | None) -> bytes:
    """The shared secret in a key file: at least 32 bytes after stripping surrounding whitespace
    (a hex or base64 line, or raw random bytes). Refuses a missing, unreadable or short key."""
    if path is None or str(path) == "":
        raise IntelError("--key-file is required: the partners' shared linkage key (>= 32 bytes)")
    p = Path(path)
    if not p.exists():
        raise IntelError(f"key file {p} does not exist")
    if not p.is_file():
        raise IntelError(f"key file {p} is not a file")
    try:
        secret = p.read_bytes().strip()
    except OSError as exc:
        raise IntelError(f"key file {p} cannot be read ({exc.strerror})") from exc
    if len(secret) < MIN_KEY_BYTES:
        raise IntelError(f"key file {p}: the key is {len(secret)} bytes; a linkage key must be at least "
                         f"{MIN_KEY_BYTES} bytes of secret (e.g. 64 hex digits from a random source)")
    return secret


def hkdf(secret: bytes, length: int, salt: bytes | None = HKDF_SALT, info: bytes = b"") -> bytes:
    """HKDF-SHA256 (RFC 5869): extract, then expand to ``length`` bytes."""
    prk = hmac.new(salt if salt else b"\x00" * 32, secret, hashlib.sha256).digest()
    out, block, i = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([i]), hashlib.sha256).digest()
        out += block
        i += 1
    return out[:length]


def derive_keys(secret: bytes, n: int, key_size: int = 64, salt: bytes | None = HKDF_SALT) -> list[bytes]:
    """``n`` keys of ``key_size`` bytes (clkhash's HKDF derivation: one HKDF output cut in pieces)."""
    material = hkdf(secret, n * key_size, salt=salt)
    return [material[i * key_size:(i + 1) * key_size] for i in range(n)]


def fingerprint(secret: bytes) -> str:
    """16 hex digits naming the key (an HMAC of a fixed label: reveals nothing of the key)."""
    return hmac.new(secret, FINGERPRINT_LABEL, hashlib.sha256).hexdigest()[:16]


# --- Bloom filters --------------------------------------------------------------------------

def bigrams(value: str) -> list[str]:
    """clkhash's ``NgramComparison(2)`` tokens: the value padded with a space each side (none
    for an empty value)."""
    if not value:
        return []
    padded = f" {value} "
    return [padded[i:i + 2] for i in range(len(padded) - 1)]


def blake_indexes(token: bytes, k: int, key: bytes, l: int) -> list[int]:
    """clkhash's ``blake_hash_token``: ``k`` bit positions in ``l`` from keyed BLAKE2b."""
    shorts: list[int] = []
    for i in range((k + 31) // 32):
        digest = hashlib.blake2b(token, key=key, salt=str(i).encode()).digest()
        shorts.extend(struct.unpack("<32H", digest))
    return [s % l for s in shorts[:k]]


@dataclass
class BloomField:
    """One field's Bloom filter: ``l`` bits (a power of two), ``k`` bits per token."""

    key: bytes
    l: int
    k: int
    _masks: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.l & (self.l - 1) or self.l < 8:
            raise ValueError(f"filter length {self.l} must be a power of two >= 8")

    def mask(self, token: str) -> int:
        """The token's bits as an integer (bit i of the filter = bit i of the int), cached."""
        got = self._masks.get(token)
        if got is None:
            got = 0
            for idx in blake_indexes(token.encode("utf-8"), self.k, self.key, self.l):
                got |= 1 << idx
            self._masks[token] = got
        return got

    def encode_tokens(self, tokens: Iterable[str]) -> bytes:
        """The filter of a set of tokens, as ``l / 8`` bytes, bit i of the filter being bit
        ``7 - i % 8`` of byte ``i // 8`` (clkhash's bitarray order, big-endian within a byte)."""
        bits = 0
        for t in tokens:
            bits |= self.mask(t)
        return _to_bytes(bits, self.l)

    def encode(self, value: str) -> bytes:
        return self.encode_tokens(bigrams(value))


# byte -> the byte with its bits in reverse order
_REVERSE_BITS = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def _to_bytes(bits: int, l: int) -> bytes:
    # filter bit i is bit i % 8 (from the least significant) of byte i // 8 of the little-endian
    # integer; clkhash puts it at the most significant end of its byte, so each byte is mirrored
    return bits.to_bytes(l // 8, "little").translate(_REVERSE_BITS)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# --- keyed tokens ---------------------------------------------------------------------------

@dataclass
class TokenField:
    """Keyed tokens of one field (or of fields that must compare with each other, e.g. forename
    and surname for swapped names): HMAC-SHA256, 64 bits as 16 hex digits."""

    key: bytes

    def token(self, value: str) -> str:
        return hmac.digest(self.key, value.encode("utf-8"), "sha256")[:8].hex()


TOKEN_HEX = 16
