"""The families where harm happened, and a harmed child's home from their specific addresses
(pure: frames in, frames out). Both serve harm_proximity (graphs/rules.py).

**Family.** Agencies write one home many ways: a UPRN on one record, a street without a house
number on the next, a district-wide postcode on a third. Counted by address key, a parent near
the repeated harm of their own child looks like a man at three households. What a safeguarding
analyst counts is *families*: the harmed people tied together, over the whole population, by

- being harmed in one event (children on one contact, one call-out), or
- a harm placed at the same household (as the rule counts households: never more families than
  households), or
- having lived, when harmed, at the same home by their *specific* records: a record with a UPRN
  or an address with a number (:func:`specific_household`; a street without a number names many
  homes). Only the homes at the dates of harm tie: a man harmed once is not made one family with
  every home he passed through.

A family is a connected component of that graph (graphs.harm_networks.components, scipy).

**Home from specific addresses.** A harmed person's household on a date by their spells built
only from their records that name a specific household (:func:`home_spells`): the record in the
harm event may carry a street without a number, or a stale or second address, while their other
records give the home they lived in.
"""

from __future__ import annotations

import polars as pl

from graphs.harm_networks import components
from graphs.households import household_on_date, household_spells


def specific_household(columns: list[str] | tuple[str, ...] = ()) -> pl.Expr:
    """True where a record's household names one home. With ``uprn`` and ``address`` among
    ``columns`` (the store's mentions frame): the record carries a UPRN, or an address with a
    number in it (``10 sycamore street``, ``flat 2``) — a street without a number names many
    homes, even where graphs.dwellings placed it in one (the one unclaimed address of a postcode).
    Otherwise by the key: a UPRN key, or a resolved address key whose numbers part is not empty
    (``addr:<postcode>|<numbers>|<street>``); keys in another form (sent as they are, keyed tokens
    of an encoded store) count as specific."""
    k = pl.col("household_key")
    if {"uprn", "address"} <= set(columns):
        return k.is_not_null() & (pl.col("uprn").is_not_null() | pl.col("address").fill_null("").str.contains(r"\d"))
    return k.is_not_null() & ~k.str.contains(r"^addr:[^|]*\|\|")


def harm_families(m: pl.DataFrame, harmed: pl.DataFrame, near: pl.DataFrame | None = None,
                  boundary: str = "midpoint") -> pl.DataFrame:
    """``harmed_person, family`` (an int) for every harmed person in ``harmed``
    (graphs.harm.harmed_records): the components of the harmed persons tied through a shared
    harm event, a household a harm was placed at (``harmed``, and ``near``'s harmed person and
    household: so there are never more families than households), or the home they lived in when
    harmed by their specific records (``m``, the prepared mentions frame; :func:`home_spells`)."""
    if harmed.height == 0:
        return pl.DataFrame(schema={"harmed_person": pl.Utf8, "family": pl.Int64})
    placed = [harmed.select("person_id", "household_key"),
              household_on_date(home_spells(m, boundary), harmed.select("person_id", "event_key", "date"))
              .select("person_id", "household_key")]
    if near is not None:
        placed.append(near.select(pl.col("harmed_person").alias("person_id"), "household_key"))
    ties = pl.concat([
        harmed.select("person_id", pl.format("e:{}", "event_key").alias("tie")),
        *[p.filter(pl.col("household_key").is_not_null())
          .select("person_id", pl.format("h:{}", "household_key").alias("tie")) for p in placed],
    ]).unique()
    comp = components(ties, "person_id", "tie")
    return comp.select(pl.col("person_id").alias("harmed_person"), pl.col("component").cast(pl.Int64).alias("family"))


def home_spells(m: pl.DataFrame, boundary: str = "midpoint") -> pl.DataFrame:
    """Household spells (graphs.households.household_spells) from the records that name a
    specific household only (:func:`specific_household`)."""
    return household_spells(m.filter(specific_household(m.columns)), boundary=boundary)
