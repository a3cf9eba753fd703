"""Addresses resolved to dwellings: one key per house, whatever each agency wrote (pure: frames in, frames out).

Agencies write one house many ways (``10 Sycamore St``, ``10 SYCAMORE STREET, NORTHMOOR``,
``Flat 2, 10 ...`` / ``2/10 ...``), send a UPRN on some rows only, and leave the postcode or the
address off others. Ingest keys each row by what it has (``uprn:<UPRN>``, else
``addr:<address>|<postcode>``), so one house gets several keys. ``resolve_dwellings`` gives every
row the key of its **dwelling**:

1. A row with a UPRN is that UPRN's dwelling.
2. Every address is reduced to its *signature*: the numbers in it (house, flat) and its first
   street word (not a number, not ``flat``/``the``...), within the postcode —
   ``NM7 0EX|10|sycamore``. A town added, the street type abbreviated, a flat written
   ``Flat 2, 10`` or ``2/10`` and upper case all give the same signature.
3. Each UPRN learns its signatures from its own rows: those sent with the UPRN, and the one made of
   its most common postcode and most common street part when no single row carried both.
4. A row without a UPRN but with an address and postcode takes the UPRN whose signature it shares
   (the UPRN with most rows, when two share one), unless its street's first two words are none of
   those the UPRN's own rows give (``5 school street`` is not ``5 school road``), else ``addr:<signature>``; and where a postcode
   has exactly one such unclaimed address and exactly one UPRN never sent with an address, the
   two are one dwelling.
5. Within a postcode *district* (the outward code, ``W7``), one number on one street is one
   house, whatever inward code was written (a mistyped or district-wide postcode, ``W7 1AA``
   against ``W7 2AY``): the keys of rows sharing district, numbers and street (its first two
   words: ``green road``, so ``green lane`` is another street) are one dwelling, the UPRN's when
   exactly one UPRN is among them, else the address key with most rows; never where two UPRNs
   claim one number of one street, nor for an address key written for two streets.
6. A row with an address but no postcode or UPRN takes the dwelling whose numbers and street (two
   words) it shares when exactly one known dwelling has them (else it stays without a household: a
   street name alone is not a house, nor is a postcode alone).

In an encoded store the rows carry keyed tokens of the signature and of the UPRN
(``address_signature``, ``uprn``) instead of the address: steps 1, 3 (rows sent with both) and 4
work on the tokens; steps that need the address's words (a UPRN's signature put together from
two rows, steps 5 and 6) do not apply.

A genuine move is a change of dwelling; everything that reads households (the rules, the graph's
lived-at edges, chronologies, alerts, network views) reads ``dwelling_key``. Measured against the
generator's truth in ``bench/dwellings.py`` (figures in docs/benchmarks.md).
"""

from __future__ import annotations

import polars as pl

_SKIP_WORDS = ("flat", "apartment", "apt", "unit", "the")


def street_part(words: int = 1) -> pl.Expr:
    """``numbers|street`` of the normalised ``address`` (NULL without an address): the street its
    first ``words`` words that are not numbers or ``flat``/``the``... (``green``; with 2, ``green road``)."""
    found = pl.col("address").str.extract_all(r"[a-z][a-z'-]*")
    nums = pl.col("address").str.extract_all(r"\d+[a-z]?").list.join(" ")
    street = found.list.eval(pl.element().filter(~pl.element().is_in(list(_SKIP_WORDS)))).list.head(words).list.join(" ")
    return pl.when(pl.col("address").is_not_null()).then(pl.format("{}|{}", nums, street)).otherwise(None)


def address_signature() -> pl.Expr:
    """``postcode|numbers|street word`` (NULL unless both address and postcode are known)."""
    return (pl.when(pl.col("address").is_not_null() & pl.col("postcode").is_not_null())
            .then(pl.format("{}|{}", pl.col("postcode"), street_part())).otherwise(None))


def district_street() -> pl.Expr:
    """``district|numbers|street`` of a numbered ``address`` with a ``postcode``: the district the
    postcode's outward code (``W7 2AY`` -> ``W7``), the street its first two words (``green road``);
    NULL otherwise."""
    return (pl.when(pl.col("address").str.contains(r"\d") & pl.col("postcode").is_not_null())
            .then(pl.format("{}|{}", pl.col("postcode").str.split(" ").list.first(), street_part(2))).otherwise(None))


def _mode(frame: pl.DataFrame, key: str, value: str) -> pl.DataFrame:
    """The most frequent ``value`` per ``key`` (ties: the smallest value)."""
    return (frame.filter(pl.col(value).is_not_null()).group_by(key, value).len()
            .sort([key, "len", value], descending=[False, True, False])
            .unique(key, keep="first", maintain_order=True).select(key, value))


def uprn_signatures(m: pl.DataFrame) -> pl.DataFrame:
    """``_sig, _uprn_key``: each signature's UPRN (steps 3-4 above)."""
    u = m.filter(pl.col("uprn").is_not_null())
    sent = u.filter(pl.col("_sig").is_not_null()).select("uprn", "_sig")
    combined = (_mode(u, "uprn", "postcode").join(_mode(u, "uprn", "_street"), on="uprn")
                .select("uprn", pl.format("{}|{}", "postcode", "_street").alias("_sig")))
    both = pl.concat([sent, combined])
    return (both.group_by("_sig", "uprn").len()
            .sort(["_sig", "len", "uprn"], descending=[False, True, False])
            .unique("_sig", keep="first", maintain_order=True)
            .select("_sig", pl.format("uprn:{}", "uprn").alias("_uprn_key")))


def _without_other_streets(m: pl.DataFrame) -> pl.DataFrame:
    """``m`` with ``_uprn_key`` (a UPRN taken by signature) cleared where the row's street, its
    first two words, is none of those the UPRN's own rows give: the signature keeps one street
    word, so "5 school street" and "5 school road" written with one district postcode share it."""
    words = street_part(2).str.split("|").list.last()
    own = (m.filter(pl.col("uprn").is_not_null() & pl.col("address").is_not_null())
           .select(pl.format("uprn:{}", "uprn").alias("_uprn_key"), words.alias("_w")).unique())
    m = (m.with_columns(_w=words)
         .join(own.select("_uprn_key").unique().with_columns(_has=pl.lit(True)), on="_uprn_key", how="left")
         .join(own.with_columns(_agree=pl.lit(True)), on=["_uprn_key", "_w"], how="left"))
    other = (pl.col("uprn").is_null() & pl.col("address").is_not_null() & pl.col("_has").fill_null(False)
             & pl.col("_agree").is_null())
    return m.with_columns(_uprn_key=pl.when(other).then(None).otherwise(pl.col("_uprn_key"))).drop("_w", "_has", "_agree")


def _paired_by_postcode(m: pl.DataFrame) -> pl.DataFrame:
    """``dwelling_key, _pair``: within a postcode, the one address no UPRN claimed and the one UPRN
    never sent with an address are one dwelling (step 4b)."""
    u = m.filter(pl.col("uprn").is_not_null())
    bare = (_mode(u, "uprn", "postcode").join(u.filter(pl.col("_street").is_not_null()).select("uprn").unique(),
                                              on="uprn", how="anti")
            .select("postcode", pl.format("uprn:{}", "uprn").alias("_pair")))
    unclaimed = (m.filter(pl.col("dwelling_key").str.starts_with("addr:")).select("postcode", "dwelling_key").unique())
    one = pl.col("postcode").count().over("postcode") == 1
    return (unclaimed.filter(one).join(bare.filter(one), on="postcode", how="inner").select("dwelling_key", "_pair"))


def _joined_in_district(m: pl.DataFrame) -> pl.DataFrame:
    """``dwelling_key, _district_key``: address keys that are, by district, numbers and street,
    the one dwelling of a UPRN or of another address key (step 5). A UPRN row without a postcode
    takes its UPRN's most common one."""
    u = m.filter(pl.col("uprn").is_not_null())
    m = m.join(_mode(u, "uprn", "postcode").rename({"postcode": "_uprn_pc"}), on="uprn", how="left")
    d = (m.with_columns(postcode=pl.coalesce("postcode", "_uprn_pc")).with_columns(_dsig=district_street())
         .filter(pl.col("_dsig").is_not_null() & pl.col("dwelling_key").is_not_null())
         .group_by("_dsig", "dwelling_key").len())
    is_uprn = pl.col("dwelling_key").str.starts_with("uprn:")
    target = (d.sort(["_dsig", "len", "dwelling_key"], descending=[False, True, False])
              .group_by("_dsig", maintain_order=True)
              .agg(pl.col("dwelling_key").filter(is_uprn).alias("_uprns"), pl.col("dwelling_key").first().alias("_most"))
              .filter(pl.col("_uprns").list.len() <= 1)
              .select("_dsig", pl.coalesce(pl.col("_uprns").list.first(), "_most").alias("_district_key")))
    one_street = d.filter(~is_uprn & (pl.col("_dsig").n_unique().over("dwelling_key") == 1))
    return (one_street.join(target, on="_dsig", how="inner").filter(pl.col("_district_key") != pl.col("dwelling_key"))
            .select("dwelling_key", "_district_key"))


def resolve_dwellings(mentions: pl.DataFrame, across_districts: bool = True) -> pl.DataFrame:
    """``mentions`` (``household_key``, ``address``, ``postcode``, ``uprn``) with ``dwelling_key``
    added: the key of the row's dwelling (above), NULL when the row names no dwelling. Without the
    address columns, ``dwelling_key`` is the sent ``household_key``. ``across_districts=False``
    leaves out step 5 (to measure it)."""
    if not {"address", "postcode", "uprn"} <= set(mentions.columns):
        return mentions.with_columns(dwelling_key=pl.col("household_key"))
    # an encoded store (docs/encoded-extracts.md) sends a keyed token of the signature, and of the
    # UPRN, instead of the address: the same steps on the tokens, less those that need the words
    encoded = "address_signature" in mentions.columns
    m = mentions.with_columns(_sig=pl.col("address_signature") if encoded else address_signature(),
                              _street=pl.lit(None, pl.Utf8) if encoded else street_part())
    m = m.join(uprn_signatures(m), on="_sig", how="left")
    if not encoded:
        m = _without_other_streets(m)
    key = (pl.when(pl.col("uprn").is_not_null()).then(pl.format("uprn:{}", "uprn"))
           .when(pl.col("_sig").is_not_null()).then(pl.coalesce("_uprn_key", pl.format("addr:{}", "_sig"))))
    m = m.with_columns(dwelling_key=key)
    m = m.join(_paired_by_postcode(m), on="dwelling_key", how="left").with_columns(
        dwelling_key=pl.coalesce("_pair", "dwelling_key")).drop("_pair")
    if not encoded and across_districts:
        m = m.join(_joined_in_district(m), on="dwelling_key", how="left").with_columns(
            dwelling_key=pl.coalesce("_district_key", "dwelling_key")).drop("_district_key")
    # step 6: an address without postcode or UPRN, where one known dwelling has its numbers and street
    # (two words: once step 5 has made "1 bridge street" one key, "1 bridge court" must not join it)
    m = m.with_columns(_street=pl.lit(None, pl.Utf8) if encoded else street_part(2))
    known = (m.filter(pl.col("dwelling_key").is_not_null() & pl.col("_street").is_not_null())
             .select("_street", "dwelling_key").unique()
             .group_by("_street").agg(pl.col("dwelling_key").first().alias("_only"), pl.len().alias("_n"))
             .filter(pl.col("_n") == 1).select("_street", "_only"))
    m = m.join(known, on="_street", how="left")
    return m.with_columns(dwelling_key=pl.coalesce("dwelling_key", "_only")).drop("_sig", "_street", "_uprn_key", "_only")


def with_dwellings(mentions: pl.DataFrame) -> pl.DataFrame:
    """``household_key`` replaced by the dwelling key (the sent key kept as ``household_key_sent``).
    A frame that already has ``household_key_sent`` (its keys resolved, e.g. read from the store's
    ``mention_dwellings``) is returned as it is."""
    if "household_key_sent" in mentions.columns:
        return mentions
    return resolve_dwellings(mentions).with_columns(
        household_key_sent=pl.col("household_key"), household_key=pl.col("dwelling_key")).drop("dwelling_key")
