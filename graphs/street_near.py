"""Near harm by a record that names only the street (pure: frames in, frames out).

Agencies often write a home as its street without a house number ("fairfield drive", with the
postcode or only the district's shared one). graphs/dwellings.py can place such a record in a
house only by chance (a UPRN once sent with the same street-alone form), so a man whose one record
while he lived with a family is "fairfield drive E4 3LY" is placed in another house of the street,
and not near the harm to the child at "1 fairfield drive" eleven days later.

A street-alone record is *explained* when the person has a record naming one home (a UPRN or an
address with a number) on that street in that district: it is their own home, written short (a
neighbour of the harmed family is not made "near" by writing his own street without the number).
An unexplained street-alone record within ``days`` of a harm at a home on the same street of the
same postcode district puts the person near that harm (graphs.harm.near_harm, after every other
way of being near).

The street is the address's first two words that are not numbers (graphs.dwellings.street_part:
"fairfield drive"), the district the postcode's outward code ("E4"); a dwelling's streets are
those its rows naming one home give.
"""

from __future__ import annotations

import polars as pl

from graphs.dwellings import street_part

NEAR_COLUMNS = ("person_id", "event_key", "date", "harmed_person", "household_key")


def _district_street() -> pl.Expr:
    """``district|street`` (``E4|fairfield drive``) of a row with an address and a postcode."""
    return pl.format("{}|{}", pl.col("postcode").str.split(" ").list.first(),
                     street_part(2).str.split("|").list.last())


def _as_text(m: pl.DataFrame) -> pl.DataFrame:
    return m.with_columns(pl.col(c).cast(pl.Utf8) for c in ("address", "postcode", "uprn", "household_key"))


def street_alone(m: pl.DataFrame) -> pl.DataFrame:
    """``person_id, date, _w``: records naming only a street (an address without a number, no UPRN)
    with a postcode, and their district and street."""
    if not {"address", "postcode", "uprn"} <= set(m.columns):
        return pl.DataFrame(schema={"person_id": pl.Utf8, "date": pl.Date, "_w": pl.Utf8})
    return (_as_text(m).filter(pl.col("uprn").is_null() & pl.col("postcode").is_not_null() & pl.col("address").is_not_null()
                     & ~pl.col("address").str.contains(r"\d") & pl.col("person_id").is_not_null())
            .select("person_id", "date", _district_street().alias("_w"))
            .filter(~pl.col("_w").str.ends_with("|")).unique())


def _specific_streets(m: pl.DataFrame) -> pl.DataFrame:
    """``person_id, household_key, _w``: the streets of the records naming one home."""
    return (m.filter(pl.col("address").str.contains(r"\d") & pl.col("postcode").is_not_null())
            .select("person_id", "household_key", _district_street().alias("_w")).unique())


def near_by_street(m: pl.DataFrame, places: pl.DataFrame, days: int) -> pl.DataFrame:
    """``person_id, event_key, date, harmed_person, household_key``: people with an unexplained
    street-alone record (above) within ``days`` of a harm (``places``: ``event_key, date,
    harmed_person, household_key``, where each harmed person was harmed) at a home on that street
    in that district. ``days <= 0`` or no addresses: no rows."""
    empty = pl.DataFrame(schema={"person_id": pl.Utf8, "event_key": pl.Utf8, "date": pl.Date,
                                 "harmed_person": pl.Utf8, "household_key": pl.Utf8})
    if days <= 0 or not {"address", "postcode", "uprn"} <= set(m.columns) or not places.height:
        return empty
    m = _as_text(m)
    weak = street_alone(m)
    own = _specific_streets(m)
    weak = weak.join(own.select("person_id", "_w").unique(), on=["person_id", "_w"], how="anti")
    streets = own.filter(pl.col("household_key").is_not_null()).select("household_key", "_w").unique()
    at = (places.filter(pl.col("household_key").is_not_null())
          .select("event_key", "date", "harmed_person", "household_key").unique()
          .join(streets, on="household_key", how="inner"))
    if not at.height or not weak.height:
        return empty
    # joined on the street and a period of ``days`` (the record's and the two either side), so that
    # a street's every record is not paired with its every harm
    period = (pl.col("date").dt.epoch("d") // days).alias("_p")
    weak = pl.concat([weak.with_columns((period + k).alias("_p")) for k in (-1, 0, 1)])
    hit = (at.with_columns(period).join(weak.rename({"date": "_seen"}), on=["_w", "_p"], how="inner")
           .filter(((pl.col("_seen") - pl.col("date")).dt.total_days().abs() <= days)
                   & (pl.col("person_id") != pl.col("harmed_person"))))
    # one home only: a person whose street-alone records on a street are near harm at two of its
    # homes (two families harmed on one street within the days) is placed in neither
    one = pl.col("household_key").n_unique().over(["person_id", "_w"]) == 1
    return hit.filter(one).select(NEAR_COLUMNS).unique()
