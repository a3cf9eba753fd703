"""Addresses resolved to dwellings (graphs.dwellings): one key per house whatever the agency wrote."""

from __future__ import annotations

import polars as pl

from graphs.dwellings import resolve_dwellings, with_dwellings


def _frame(address, postcode, uprn) -> pl.DataFrame:
    m = pl.DataFrame({"address": address, "postcode": postcode, "uprn": uprn},
                     schema={"address": pl.Utf8, "postcode": pl.Utf8, "uprn": pl.Utf8})
    return m.with_columns(household_key=pl.when(pl.col("uprn").is_not_null()).then(pl.format("uprn:{}", "uprn"))
                          .when(pl.col("address").is_not_null() & pl.col("postcode").is_not_null())
                          .then(pl.format("addr:{}|{}", "address", "postcode")))


def test_address_variants_take_the_uprn_sent_with_them():
    m = _frame(["3 holly avenue", "3 holly avenue northmoor", "flat 2 3 holly avenue", "9 oak road"],
               ["NM8 5AS", "NM8 5AS", "NM8 5AS", "NM1 1AA"], ["1001", None, None, None])
    r = resolve_dwellings(m)
    assert r["dwelling_key"].to_list() == ["uprn:1001", "uprn:1001", "addr:NM8 5AS|2 3|holly", "addr:NM1 1AA|9|oak"]
    w = with_dwellings(m)
    assert w["household_key_sent"][1] == "addr:3 holly avenue northmoor|NM8 5AS"
    assert w["household_key"][1] == "uprn:1001"
    assert with_dwellings(w).equals(w)   # already resolved: left alone


def test_a_uprn_learns_its_address_from_rows_that_each_carry_half():
    # the UPRN came once with the postcode only and once with the address only
    m = _frame(["2 elm close", None, "2 elm close", "2 elm cl"], [None, "W2 0RB", "W2 0RB", "W2 0RB"],
               ["77", "77", None, None])
    assert resolve_dwellings(m)["dwelling_key"].to_list() == ["uprn:77"] * 4


def test_an_address_without_postcode_joins_the_one_dwelling_it_can_be():
    m = _frame(["5 mill lane", "5 mill lane", "8 park road", "8 park road", "8 park road"],
               ["KF1 1AA", None, "KF2 2BB", "NM3 3CC", None], [None, None, None, None, None])
    assert resolve_dwellings(m)["dwelling_key"].to_list() == [
        "addr:KF1 1AA|5|mill", "addr:KF1 1AA|5|mill",         # one 5 Mill Lane known: that one
        "addr:KF2 2BB|8|park", "addr:NM3 3CC|8|park", None]   # two 8 Park Roads: not guessed


def test_a_postcode_with_one_unclaimed_address_and_one_bare_uprn_pairs_them():
    m = _frame(["7 elm road", None, "1 ash road", None], ["W19 2ZZ", "W19 2ZZ", "W1 1AA", "W1 1AA"],
               [None, "206", None, "300"])
    m = pl.concat([m, _frame(["4 ash road"], ["W1 1AA"], [None])])   # W1 1AA has two unclaimed addresses
    assert resolve_dwellings(m)["dwelling_key"].to_list() == [
        "uprn:206", "uprn:206", "addr:W1 1AA|1|ash", "uprn:300", "addr:W1 1AA|4|ash"]


def test_without_address_columns_the_sent_key_stands():
    m = pl.DataFrame({"household_key": ["uprn:1", None]})
    assert resolve_dwellings(m)["dwelling_key"].to_list() == ["uprn:1", None]


def test_an_encoded_stores_keyed_signature_resolves_homes_the_same_way():
    """An encoded store has no address: its keyed signature and UPRN tokens stand in for them."""
    m = pl.DataFrame({
        "address": [None] * 4, "postcode": [None] * 4,
        "uprn": ["t-uprn", None, None, None],
        "address_signature": ["t-sig1", "t-sig1", "t-sig2", "t-sig3"],
        "household_key": ["uprn:t-uprn", "addr:t-a", "addr:t-b", "addr:t-c"],
    }, schema_overrides={"address": pl.String, "postcode": pl.String})
    assert resolve_dwellings(m)["dwelling_key"].to_list() == ["uprn:t-uprn", "uprn:t-uprn", "addr:t-sig2", "addr:t-sig3"]
