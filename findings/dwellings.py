"""Every mention placed in its dwelling, in the store: ``mention_dwellings`` rewritten from all
mentions (graphs.dwellings.resolve_dwellings, pure) by each analytics run, so the rules,
chronologies, alerts and network views agree on one household per house."""

from __future__ import annotations

from typing import Any


from graphs.dwellings import resolve_dwellings
from core.store import Store
from core.store_mode import is_encoded

DWELLING_OF = "coalesce(md.dwelling_key, m.household_key)"
"""SQL for a mention ``m``'s household as a dwelling, with ``LEFT JOIN mention_dwellings md USING
(mention_id)``: the sent key where the last analytics run has not placed the mention yet."""


def place_dwellings(store: Store) -> dict[str, Any]:
    """Rewrite ``mention_dwellings`` (mention_id, dwelling_key) for every mention; returns counts:
    ``mentions``, ``sent_keys`` (distinct household keys as sent), ``dwellings`` (distinct after)."""
    if is_encoded(store):   # keyed tokens of the UPRN and of the address signature (docs/encoded-extracts.md)
        m = store.df("SELECT m.mention_id, m.household_key, m.address, m.postcode, x.tok_uprn AS uprn, "
                     "x.tok_address_sig AS address_signature FROM mentions m LEFT JOIN mention_encodings x USING (mention_id)")
    else:
        m = store.df("SELECT mention_id, household_key, address, postcode, uprn FROM mentions")
    placed = resolve_dwellings(m).select("mention_id", "dwelling_key")
    with store.transaction():
        store.execute("DELETE FROM mention_dwellings")
        if placed.height:
            store.insert_df("mention_dwellings", placed)
    return {"mentions": m.height,
            "sent_keys": m["household_key"].drop_nulls().n_unique() if m.height else 0,
            "dwellings": placed["dwelling_key"].drop_nulls().n_unique() if placed.height else 0}


def dwelling_of(store: Store, household_key: str) -> str:
    """The dwelling a household key names: itself when it is one, else the dwelling the mentions sent
    with that key were placed in (an analyst may paste ``addr:10 sycamore street|NM7 0EX``)."""
    if store.scalar("SELECT count(*) FROM mention_dwellings WHERE dwelling_key = ?", [household_key]):
        return household_key
    found = store.scalar("SELECT min(md.dwelling_key) FROM mentions m JOIN mention_dwellings md USING (mention_id) "
                         "WHERE m.household_key = ?", [household_key])
    return found or household_key
