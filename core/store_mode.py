"""Whether a store holds clear identifiers or keyed encodings of them (``store_encoding``).

A store takes its mode from the first drop it ingests and keeps it: a hub links either on clear
identities or on encodings, never on a mix (the two cannot be compared). A store with mentions
but no row (made before encoded drops existed) is clear.
"""

from __future__ import annotations

from typing import Any

CLEAR = "clear"
ENCODED = "encoded"


def store_encoding(store: Any) -> dict[str, Any] | None:
    """The store's ``store_encoding`` row, or a clear one for a store that has mentions but no row,
    or ``None`` for an empty store."""
    rows = store.rows("SELECT mode, scheme, key_fingerprint, declaration, set_at, drop_id FROM store_encoding "
                      "ORDER BY set_at LIMIT 1")
    if rows:
        return rows[0]
    if store.scalar("SELECT count(*) FROM (SELECT 1 FROM mentions LIMIT 1)"):
        return {"mode": CLEAR, "scheme": None, "key_fingerprint": None, "declaration": None,
                "set_at": None, "drop_id": None}
    return None


def is_encoded(store: Any) -> bool:
    got = store_encoding(store)
    return bool(got and got["mode"] == ENCODED)
