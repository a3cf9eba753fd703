"""The name-only blocking rules: off by default, and keyed only on rare names without a dob."""

from __future__ import annotations

import polars as pl

from core.config import load_config
from core.store import Store
from linkage import features as F
from linkage.blocking import BLOCKING_RULES, NAME_ONLY_RULES, blocking_rules
from tests.linkage.test_run import add_mentions


def test_name_only_rules_follow_the_config():
    assert blocking_rules(load_config()["linkage"]) == BLOCKING_RULES
    assert blocking_rules({"name_only_blocking": True}) == BLOCKING_RULES + NAME_ONLY_RULES


def test_name_key_nodob_only_for_a_rare_name_without_a_dob(tmp_path):
    with Store(tmp_path / "s.duckdb") as store:
        common = [{"record_id": f"C{i}", "forename": "john", "surname": "smith", "dob": "1980-01-01"}
                  for i in range(F.NAME_ONLY_MAX_BLOCK)]
        add_mentions(store, common + [
            {"record_id": "C-nodob", "forename": "john", "surname": "smith"},            # the 21st john smith
            {"record_id": "R-nodob", "forename": "ifeoma", "surname": "okafor"},         # a rare name
            {"record_id": "R", "forename": "ifeoma", "surname": "okafor", "dob": "1990-02-02"},
        ])
        F.build_features(store, F.FEATURES_TABLE)
        keys = dict(store.df(f"SELECT mention_id, name_key_nodob FROM {F.FEATURES_TABLE}").rows())
    assert keys["police:R-nodob"] == "ifeoma|okafor"
    assert keys["police:R"] is None and keys["police:C-nodob"] is None


def test_a_capped_rule_skips_a_block_of_too_many_identities_whichever_records_are_built(tmp_path):
    from linkage.blocking import CAPPED_KEYS, LOOSE_MAX_BLOCK, MAX_BLOCK

    assert CAPPED_KEYS["name_key_by_year"][2] == MAX_BLOCK
    with Store(tmp_path / "s.duckdb") as store:
        # MAX_BLOCK + 1 john smiths born in 1980 (one block too many for name + birth year),
        # each on their own day; two ann lees born in 1980 (a block well under the cap)
        crowd = [{"record_id": f"C{i}", "forename": "john", "surname": "smith",
                  "dob": f"1980-{1 + i // 28:02d}-{1 + i % 28:02d}"} for i in range(MAX_BLOCK + 1)]
        # one woman mentioned 3 * MAX_BLOCK times: one identity, however many records
        frequent = [{"record_id": f"M{i}", "forename": "mary", "surname": "jones", "dob": "1975-05-05"}
                    for i in range(3 * MAX_BLOCK)]
        add_mentions(store, crowd + frequent + [
            {"record_id": "A1", "forename": "ann", "surname": "lee", "dob": "1980-03-03"},
            {"record_id": "A2", "forename": "ann", "surname": "lee", "dob": "1980-04-04"},
        ])
        F.build_features(store, F.FEATURES_TABLE)
        full = {r[0]: r[1:] for r in store.df(
            f"SELECT mention_id, name_key_by_year, name_key_by_day, surname_by_year, forename_by_dob "
            f"FROM {F.FEATURES_TABLE}").rows()}
        # the same records built alone (explain_pair does): the blocks are still counted over all
        F.build_features(store, "_two", ["police:C0", "police:A1"])
        alone = {r[0]: r[1:] for r in store.df(
            "SELECT mention_id, name_key_by_year, name_key_by_day, surname_by_year, forename_by_dob "
            "FROM _two").rows()}
    assert full["police:C0"][0] is None                  # name + birth year: over the cap
    assert full["police:C0"][1] == "john|smith"          # name + day of the year: a block of one or two
    assert full["police:C0"][2] is None                  # surname + year + initial: over the loose cap
    assert LOOSE_MAX_BLOCK < MAX_BLOCK + 1
    assert full["police:C0"][3] == "john"                # forename + dob: a block of one
    assert full["police:A1"] == ("ann|lee", "ann|lee", "lee", "ann")
    assert full["police:M0"] == ("jones|mary", "jones|mary", "jones", "mary")
    assert alone["police:C0"] == full["police:C0"] and alone["police:A1"] == full["police:A1"]


def test_capped_rules_find_no_pair_in_an_over_large_block_and_every_pair_in_a_small_one(tmp_path):
    from linkage.blocking import MAX_BLOCK

    rule = next(r for r in BLOCKING_RULES if "name_key_by_year" in r)
    with Store(tmp_path / "s.duckdb") as store:
        crowd = [{"record_id": f"C{i}", "forename": "john", "surname": "smith",
                  "dob": f"1980-{1 + i // 28:02d}-{1 + i % 28:02d}"} for i in range(MAX_BLOCK + 1)]
        add_mentions(store, crowd + [
            {"record_id": "A1", "forename": "ann", "surname": "lee", "dob": "1980-03-03"},
            {"record_id": "A2", "forename": "ann", "surname": "lee", "dob": "1980-03-13"},
        ])
        F.build_features(store, F.FEATURES_TABLE)
        pairs = store.df(f"SELECT l.mention_id AS a, r.mention_id AS b FROM {F.FEATURES_TABLE} l "
                         f"JOIN {F.FEATURES_TABLE} r ON ({rule}) AND l.mention_id < r.mention_id").rows()
    assert pairs == [("police:A1", "police:A2")]


def _pairs(store, rule: str) -> list[tuple[str, str]]:
    return sorted(store.df(f"SELECT l.mention_id AS a, r.mention_id AS b FROM {F.FEATURES_TABLE} l "
                           f"JOIN {F.FEATURES_TABLE} r ON ({rule}) AND l.mention_id < r.mention_id").rows())


def test_the_name_and_place_or_year_rules_ask_for_a_second_part_of_the_dob(tmp_path):
    # namesakes (one name, one birth year or district) grow with the square of the data
    # (docs/scale.md): these two rules now pair them only when the dob says they may be one person
    by_year = next(r for r in BLOCKING_RULES if "name_key_by_year" in r)
    by_district = next(r for r in BLOCKING_RULES if "name_key_by_district" in r)
    rows = [
            {"record_id": "Y1", "forename": "ann", "surname": "lee", "dob": "1980-03-03"},
            {"record_id": "Y2", "forename": "ann", "surname": "lee", "dob": "1980-03-13"},   # day mistyped
            {"record_id": "Y3", "forename": "ann", "surname": "lee", "dob": "1980-07-21"},   # a namesake
            {"record_id": "Y4", "forename": "ann", "surname": "lee", "dob": "1980-03-29"},   # same month, a namesake
            {"record_id": "Y5", "forename": "ann", "surname": "lee", "dob": "1980-11-03"},   # month wrong, day right
            {"record_id": "T1", "forename": "cai", "surname": "orr", "dob": "1990-06-12"},
            {"record_id": "T2", "forename": "cai", "surname": "orr", "dob": "1990-06-21"},   # day's digits swapped
            {"record_id": "D1", "forename": "bob", "surname": "ray", "dob": "1970-01-05", "postcode": "E1 6AN"},
            {"record_id": "D2", "forename": "bob", "surname": "ray", "postcode": "E1 7QX"},      # no dob
            {"record_id": "D3", "forename": "bob", "surname": "ray", "dob": "1971-02-05", "postcode": "E1 6PP"},
            {"record_id": "D4", "forename": "bob", "surname": "ray", "dob": "1988-11-23", "postcode": "E1 2AA"},
            {"record_id": "D5", "forename": "bob", "surname": "ray", "dob": "1975-09-05", "postcode": "E1 4AA"},
    ]
    frame = pl.DataFrame([{"source": "police", "postcode": None, **r} for r in rows],
                         schema_overrides={"dob": pl.Utf8, "postcode": pl.Utf8})
    with Store(tmp_path / "s.duckdb") as store:
        store.insert_df("mentions", F.mentions_frame(frame.with_columns(pl.col("dob").str.to_date())))
        F.build_features(store, F.FEATURES_TABLE)
        year_pairs, district_pairs = _pairs(store, by_year), _pairs(store, by_district)
    assert year_pairs == [("police:T1", "police:T2"), ("police:Y1", "police:Y2"), ("police:Y1", "police:Y5")]
    # D1-D3 share the day in one sector; D5 shares it in another sector; D2 has no dob; D4 shares
    # no part with anyone
    assert district_pairs == [("police:D1", "police:D2"), ("police:D1", "police:D3"), ("police:D2", "police:D3"),
                              ("police:D2", "police:D4"), ("police:D2", "police:D5")]


def test_the_house_number_rules_ask_for_the_street_or_a_missing_postcode_or_dob(tmp_path):
    # a house number is a small range of values: the same number and dob (or names) in another
    # street is a namesake, not a postcode typo (docs/scale.md, "Third step")
    by_number = [r for r in BLOCKING_RULES if "dob_by_number" in r]
    names_by_number = next(r for r in BLOCKING_RULES if "name_key_by_number" in r)
    rows = [
        {"record_id": "N1", "forename": "eve", "surname": "hay", "dob": "1960-04-04",
         "address": "12 oak road", "postcode": "E1 6AN"},
        {"record_id": "N2", "forename": "eva", "surname": "hoy", "dob": "1960-04-04",
         "address": "12 oak road", "postcode": "E2 7QX"},                        # postcode wrong
        {"record_id": "N3", "forename": "eva", "surname": "hoy", "dob": "1960-04-04",
         "address": "12 elm close", "postcode": "E3 4PP"},                       # another street
        {"record_id": "N4", "forename": "eva", "surname": "hoy", "dob": "1960-04-04",
         "address": "12 ash way"},                                               # no postcode
        {"record_id": "M1", "forename": "kim", "surname": "lo", "dob": "1950-01-01",
         "address": "7 mill lane", "postcode": "E1 6AN"},
        {"record_id": "M2", "forename": "kim", "surname": "lo", "dob": "1999-12-30",
         "address": "7 mill lane", "postcode": "E1 9ZZ"},                        # dob wrong, same street
        {"record_id": "M3", "forename": "kim", "surname": "lo", "dob": "1985-07-15",
         "address": "7 park view", "postcode": "E1 8YY"},                        # a namesake
        {"record_id": "M4", "forename": "kim", "surname": "lo",
         "address": "7 park view", "postcode": "E1 7XX"},                        # no dob
    ]
    frame = pl.DataFrame([{"source": "police", "postcode": None, **r} for r in rows],
                         schema_overrides={"dob": pl.Utf8, "postcode": pl.Utf8})
    with Store(tmp_path / "s.duckdb") as store:
        store.insert_df("mentions", F.mentions_frame(frame.with_columns(pl.col("dob").str.to_date())))
        F.build_features(store, F.FEATURES_TABLE)
        number_pairs = sorted({p for r in by_number for p in _pairs(store, r)})
        name_pairs = _pairs(store, names_by_number)
    # N1-N2 and N3-N4 share the street or lack a postcode; N1-N3 and N2-N3 are other streets
    assert number_pairs == [("police:N1", "police:N2"), ("police:N1", "police:N4"), ("police:N2", "police:N4"),
                            ("police:N3", "police:N4")]
    # M1-M2 share the street; M4 has no dob; M3 shares no dob part and no street with M1 or M2
    assert name_pairs == [("police:M1", "police:M2"), ("police:M1", "police:M4"), ("police:M2", "police:M4"),
                          ("police:M3", "police:M4")]


def test_the_full_dob_and_birthday_rules_ask_for_the_sex_a_year_typo_or_one_place(tmp_path):
    by_surname_dob = next(r for r in BLOCKING_RULES if "surname_by_dob" in r)
    by_day = next(r for r in BLOCKING_RULES if "name_key_by_day" in r)
    rows = [
        # one surname and dob: the same sex anywhere, or the other sex in one postcode area
        {"record_id": "S1", "forename": "amy", "surname": "kerr", "dob": "1990-05-05", "sex": "F", "postcode": "E1 6AN"},
        {"record_id": "S2", "forename": "zoe", "surname": "kerr", "dob": "1990-05-05", "sex": "F", "postcode": "N4 2AA"},
        {"record_id": "S3", "forename": "max", "surname": "kerr", "dob": "1990-05-05", "sex": "M", "postcode": "N4 3BB"},
        {"record_id": "S4", "forename": "ian", "surname": "kerr", "dob": "1990-05-05", "sex": "M", "postcode": "E1 7QX"},
        # one name and birthday: a year one keystroke off anywhere, another year only in one place
        {"record_id": "B1", "forename": "ted", "surname": "moss", "dob": "1961-08-09", "postcode": "E1 6AN"},
        {"record_id": "B2", "forename": "ted", "surname": "moss", "dob": "1967-08-09", "postcode": "N4 2AA"},
        {"record_id": "B3", "forename": "ted", "surname": "moss", "dob": "1984-08-09", "postcode": "N4 3BB"},
        {"record_id": "B4", "forename": "ted", "surname": "moss", "dob": "1999-08-09", "postcode": "SE5 1AA"},
    ]
    frame = pl.DataFrame([{"source": "police", "sex": None, **r} for r in rows],
                         schema_overrides={"dob": pl.Utf8, "postcode": pl.Utf8, "sex": pl.Utf8})
    with Store(tmp_path / "s.duckdb") as store:
        store.insert_df("mentions", F.mentions_frame(frame.with_columns(pl.col("dob").str.to_date())))
        F.build_features(store, F.FEATURES_TABLE)
        surname_pairs, day_pairs = _pairs(store, by_surname_dob), _pairs(store, by_day)
    # S1-S2 and S3-S4 one sex; S1-S4 and S2-S3 the other sex in one area; S1-S3, S2-S4 neither
    assert surname_pairs == [("police:S1", "police:S2"), ("police:S1", "police:S4"), ("police:S2", "police:S3"),
                             ("police:S3", "police:S4")]
    # B1-B2 one decade (one digit wrong); B2-B3 one area; B1-B3, B1-B4, B2-B4, B3-B4 neither
    assert day_pairs == [("police:B1", "police:B2"), ("police:B2", "police:B3")]
