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
    m = _frame(["2 elm close", None, "2 elm close", "2 elm close"], [None, "W2 0RB", "W2 0RB", "W2 0RB"],
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


def test_one_number_on_one_street_in_a_district_is_one_house_whatever_the_inward_code():
    """14 Hawthorn Drive is written with its UPRN's postcode W18 2GQ and with the district's W18 1AA;
    2 Lancaster Lane's UPRN came with the address and no postcode, and with the postcode alone."""
    m = _frame(["14 hawthorn drive", "14 hawthorn drive wexley", "14 hawthorn drive",
                "2 lancaster lane eastbridge", None, "2 lancaster lane", "2 lancaster lane"],
               ["W18 2GQ", "W18 1AA", "W18 9ZZ", None, "E12 1AA", "E12 5AG", "E12 1AA"],
               ["501", None, None, "722", "722", None, None])
    r = resolve_dwellings(m)
    assert r["dwelling_key"].to_list() == ["uprn:501"] * 3 + ["uprn:722"] * 4
    assert resolve_dwellings(m, across_districts=False)["dwelling_key"].to_list()[1:3] == [
        "addr:W18 1AA|14|hawthorn", "addr:W18 9ZZ|14|hawthorn"]


def test_without_a_uprn_the_forms_of_one_house_take_the_commonest_key():
    m = _frame(["2 lancaster avenue", "2 lancaster avenue", "2 lancaster avenue"], ["KF8 5SY", "KF8 5SY", "KF8 1AA"],
               [None, None, None])
    assert resolve_dwellings(m)["dwelling_key"].to_list() == ["addr:KF8 5SY|2|lancaster"] * 3


def test_near_misses_are_held_apart():
    """Another street of the same name (green lane), another district (W8), a flat at the number,
    and a number two UPRNs claim (two houses, or one agency's error: not guessed) stay apart."""
    m = _frame(["12 green road", "12 green road", "12 green lane", "12 green road", "flat 3 12 green road",
                "6 mill way", "6 mill way", "6 mill way"],
               ["W7 2AY", "W7 1AA", "W7 3BB", "W8 1AA", "W7 1AA", "E3 1AB", "E3 2CD", "E3 1AA"],
               ["10169", None, None, None, None, "1", "2", None])
    assert resolve_dwellings(m)["dwelling_key"].to_list() == [
        "uprn:10169", "uprn:10169", "addr:W7 3BB|12|green", "addr:W8 1AA|12|green", "addr:W7 1AA|3 12|green",
        "uprn:1", "uprn:2", "addr:E3 1AA|6|mill"]
    # one address key written for two streets (12 green road and 12 green lane, both as W7 1AA): left alone
    two = pl.concat([m.head(2), _frame(["12 green lane"], ["W7 1AA"], [None])])
    assert resolve_dwellings(two)["dwelling_key"].to_list() == ["uprn:10169", "addr:W7 1AA|12|green", "addr:W7 1AA|12|green"]


def test_an_address_without_postcode_needs_the_street_type_too():
    """Once 1 Bridge Street's forms are one dwelling, 1 Bridge Court (no postcode) must not join it."""
    m = _frame(["1 bridge street", "1 bridge street", "1 bridge court", "1 bridge street"],
               ["E13 8UL", "E13 1AA", None, None], ["453", None, None, None])
    assert resolve_dwellings(m)["dwelling_key"].to_list() == ["uprn:453", "uprn:453", None, "uprn:453"]


def test_a_signature_shared_by_two_streets_does_not_take_the_other_streets_uprn():
    """The signature keeps one street word: 5 School Road's UPRN (sent with the district postcode)
    shares KF2 1AA|5|school with 5 School Street; 5 School Street's forms join its own UPRN."""
    m = _frame(["5 school road", "5 school road", "5 school street", "5 school street", None],
               ["KF2 1AA", "KF2 1AA", "KF2 1AA", "KF2 7GX", "KF2 7GX"], ["3330", None, None, None, "3293"])
    m = pl.concat([m, _frame(["5 school street"], ["KF2 1AA"], ["3293"])])
    assert resolve_dwellings(m)["dwelling_key"].to_list() == ["uprn:3330", "uprn:3330"] + ["uprn:3293"] * 4
    m2 = m.head(3)   # 5 school street's own UPRN unknown: it stays an address of its own
    assert resolve_dwellings(m2)["dwelling_key"].to_list() == ["uprn:3330", "uprn:3330", "addr:KF2 1AA|5|school"]
