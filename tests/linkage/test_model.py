"""The trained Splink model: links duplicates, keeps twins apart, TF, saved and reused, corrupt models."""

from __future__ import annotations

import json

import pytest

from core.config import load_config
from core.errors import IntelError
from linkage.explain import explain_pair
from linkage.model import SPLINK_VERSION, latest_model, load_or_train, settings_creator
from tests.linkage.test_model_data import edge

THRESHOLD = 0.95  # identity's default clustering threshold


def test_model_definition_is_python_and_portable():
    # the same SettingsCreator renders for Splink's Spark backend too (SQL translated by Splink)
    duck = settings_creator(load_config()).create_settings_dict("duckdb")
    assert duck["link_type"] == "link_and_dedupe" and duck["unique_id_column_name"] == "mention_id"
    names = [c["output_column_name"] for c in duck["comparisons"]]
    assert names == ["forename", "surname", "dob", "sex", "postcode", "address", "person_ref"]
    spark = settings_creator(load_config()).create_settings_dict("spark")
    assert len(spark["comparisons"]) == len(duck["comparisons"])


def test_obvious_duplicates_link_across_sources_and_twins_stay_apart(tstore):
    assert edge(tstore, "police:T1", "health:T2") >= 0.99
    assert edge(tstore, "police:T1", "social_care:T3") >= THRESHOLD  # 'ollie' is a nickname of oliver
    assert edge(tstore, "police:S1", "social_care:S2") >= THRESHOLD  # forename and surname swapped
    twin = edge(tstore, "police:T1", "health:T4")
    assert twin is None or twin < THRESHOLD
    twin = edge(tstore, "health:T2", "health:T4")
    assert twin is None or twin < THRESHOLD


def test_term_frequency_lowers_the_weight_of_a_common_surname(tstore):
    common = explain_pair(tstore, "police:C1", "health:C2")
    rare = explain_pair(tstore, "police:R1", "health:R2")
    sc = next(c for c in common["comparisons"] if c["comparison"] == "surname")
    sr = next(c for c in rare["comparisons"] if c["comparison"] == "surname")
    assert sc["level"] == sr["level"] == "exact"
    assert sc["tf_adjustment_weight"] < sr["tf_adjustment_weight"]
    assert common["match_weight"] < rare["match_weight"]


def test_saved_model_is_reused_not_retrained(tstore):
    first = latest_model(tstore)
    assert first is not None and first.splink_version == SPLINK_VERSION
    n = tstore.rows("SELECT count(*) AS n FROM linkage_models")[0]["n"]
    again = load_or_train(tstore, load_config())
    assert again.reused and again.model_id == first.model_id and again.settings == first.settings
    assert tstore.rows("SELECT count(*) AS n FROM linkage_models")[0]["n"] == n
    row = tstore.rows("SELECT * FROM linkage_models WHERE model_id = ?", [first.model_id])[0]
    assert row["fingerprint"] == first.fingerprint and row["trained_at"] == first.trained_at
    assert json.loads(row["model_json"])["probability_two_random_records_match"] > 0


def test_retrain_on_request_adds_a_model(tstore):
    first = latest_model(tstore)
    new = load_or_train(tstore, load_config(), retrain=True)
    assert not new.reused and new.model_id != first.model_id
    assert latest_model(tstore).model_id == new.model_id
    assert all(s.get("skipped") is None for s in new.training["em_sessions"])


def test_corrupt_model_json_is_a_clear_error(tstore):
    mid = latest_model(tstore).model_id
    tstore.execute("UPDATE linkage_models SET model_json = '{\"comparisons\": [' WHERE model_id = ?", [mid])
    with pytest.raises(IntelError, match=r"corrupt.*intel link --retrain"):
        load_or_train(tstore, load_config())
    tstore.execute("UPDATE linkage_models SET model_json = '{\"link_type\": \"link_and_dedupe\", "
                   "\"comparisons\": [{\"nonsense\": 1}]}' WHERE model_id = ?", [mid])
    with pytest.raises(IntelError, match=r"corrupt.*intel link --retrain"):
        load_or_train(tstore, load_config())


def test_model_from_another_splink_version_is_a_clear_error(tstore):
    tstore.execute("UPDATE linkage_models SET splink_version = '4.0.7'")
    with pytest.raises(IntelError, match=r"Splink 4\.0\.7.*intel link --retrain"):
        load_or_train(tstore, load_config())
    # retraining is the way out
    assert not load_or_train(tstore, load_config(), retrain=True).reused


def test_a_store_with_one_agency_trains_and_scores(store):
    import datetime as dt

    import polars as pl

    from linkage.features import mentions_frame
    from linkage.scoring import score_all

    names = ["amy", "bob", "cat", "dan", "eve", "fay", "gus", "hal"]
    rows = [{"source": "police", "record_id": str(i), "forename": names[i % 8], "surname": ["smith", "jones", "brown"][i % 3],
             "dob": dt.date(1990 + i % 7, 1 + i % 5, 1 + i % 9)} for i in range(300)]
    rows += [dict(r, record_id=r["record_id"] + "b") for r in rows[:30]]   # 30 duplicate nominals
    store.insert_df("mentions", mentions_frame(pl.DataFrame(rows)))
    model = load_or_train(store, load_config())
    assert 0 < model.settings["probability_two_random_records_match"] < 1
    assert score_all(store, model, load_config())["edges"] > 0
    assert edge(store, "police:1", "police:1b") > 0.5


def _blocked_by(left: dict, right: dict) -> list[str]:
    """The blocking rules that put forward the pair (feature rows as dicts), evaluated in DuckDB."""
    import duckdb

    from linkage.blocking import BLOCKING_RULES, CAPPED_KEYS

    # the pair stands alone, so its blocks are small: each capped key is the key it stands for;
    # the address's tokens as features.py splits them, the sex and sector unknown unless given
    def complete(row: dict) -> dict:
        tokens = sorted(set(row["address"].split())) if row.get("address") else None
        return {"sex": None, "postcode_sector": None, "address_tokens": tokens,
                **{c: row.get(k) for c, (k, _block, _cap) in CAPPED_KEYS.items()}, **row}

    left, right = complete(left), complete(right)
    types = {"dob": "DATE", "dob_year": "INTEGER", "dob_month": "INTEGER", "dob_day": "INTEGER",
             "address_tokens": "VARCHAR[]"}
    con = duckdb.connect()
    cols = sorted(set(left) | set(right))
    row = "SELECT " + ", ".join(f"?::{types.get(c, 'VARCHAR')} AS {c}" for c in cols)
    con.execute(f"CREATE TABLE l AS {row}", [left.get(c) for c in cols]).fetchall()
    con.execute(f"CREATE TABLE r AS {row}", [right.get(c) for c in cols]).fetchall()
    return [rule for rule in BLOCKING_RULES
            if con.execute(f"SELECT count(*) FROM l, r WHERE {rule}").fetchall()[0][0]]


def test_every_blocking_rule_joins_on_more_than_one_key():
    # a single key (a name, a house number, a postcode) makes blocks that grow with the square of the data
    from linkage.blocking import BLOCKING_RULES

    for rule in BLOCKING_RULES:
        assert rule.count(" = ") >= 2, rule


def test_house_number_with_dob_blocks_a_duplicate_whose_names_and_postcode_are_corrupt():
    # the street is what is left: a namesake at the same number and dob in another street is not
    # compared (docs/scale.md, "Third step")
    base = {"source": "police", "person_ref": None, "dob": "1971-04-22", "dob_year": 1971, "dob_month": 4,
            "dob_day": 22, "address": "14 kingsford smith drive", "address_number": "14", "postcode_district": None}
    a = {**base, "forename_canon": "luge", "surname": "menzies", "name_key": "luge|menzies", "initials_key": "lm",
         "postcode": "6072"}
    b = {**base, "source": "health", "forename_canon": "luke", "surname": "dixon", "name_key": "dixon|luke",
         "initials_key": "dl", "postcode": "6027"}
    assert any("address_number" in rule for rule in _blocked_by(a, b))
    assert not any("address_number" in rule for rule in _blocked_by(a, {**b, "address": "14 banks street"}))


def test_one_home_with_the_forename_initial_blocks_a_duplicate_whose_surname_and_dob_are_corrupt():
    base = {"source": "police", "person_ref": None, "dob": None, "dob_year": None, "dob_month": None,
            "dob_day": None, "address": None, "address_number": "7", "postcode": "2158", "postcode_district": None}
    a = {**base, "forename_canon": "hannah", "surname": "white", "name_key": "hannah|white", "initials_key": "hw"}
    b = {**base, "source": "health", "forename_canon": "hanna", "surname": "whiet", "name_key": "hanna|whiet",
         "initials_key": "hw"}
    assert _blocked_by(a, b) == ["l.postcode = r.postcode AND l.address_number = r.address_number "
                                 "AND left(l.forename_canon, 1) = left(r.forename_canon, 1)"]


def test_a_record_with_no_forename_and_no_dob_is_not_compared_on_its_household_alone():
    # surname + address + postcode is a household, not a person: such pairs scored >= 0.999 and
    # tied siblings together when a rule compared them (docs/bench-linkage.md)
    base = {"source": "police", "person_ref": None, "surname": "williams", "address": "7 orchard lane",
            "address_number": "7", "postcode": "ZZ1 1ZZ", "postcode_district": "ZZ1", "initials_key": None}
    a = {**base, "forename_canon": None, "name_key": None, "dob": None, "dob_year": None, "dob_month": None,
         "dob_day": None}
    b = {**base, "source": "health", "forename_canon": "charlotte", "name_key": "charlotte|williams",
         "initials_key": "cw", "dob": "2011-07-05", "dob_year": 2011, "dob_month": 7, "dob_day": 5}
    assert _blocked_by(a, b) == []


def _forename_level(store, a: str, b: str) -> str:
    res = explain_pair(store, a, b)
    return next(c for c in res["comparisons"] if c["comparison"] == "forename")["level"]


def test_twin_level_for_a_different_forename_but_not_for_a_title_or_an_initial(tstore):
    import polars as pl

    from linkage.features import mentions_frame
    from tests.linkage.test_model_data import ADDRESS, DOB, POSTCODE

    base = {"surname": "quarrendon", "dob": DOB, "address": ADDRESS, "postcode": POSTCODE, "sex": "M"}
    rows = [{"source": "police", "record_id": "TT1", "forename": "sir", **base},
            {"source": "police", "record_id": "TT2", "forename": "o", **base}]
    tstore.insert_df("mentions", mentions_frame(pl.DataFrame(rows)))
    assert "twin" in _forename_level(tstore, "police:T1", "health:T4")          # oliver / harry
    assert "twin" not in _forename_level(tstore, "police:T1", "police:TT1")     # oliver / sir (a title)
    assert _forename_level(tstore, "police:T1", "police:TT2") == "one is the other's initial"


def test_prior_recall_estimate_is_presence_times_m_exact_over_the_rule_columns(store):
    from linkage.model import estimated_prior_recall

    store.execute("CREATE TEMP TABLE rec_t AS SELECT * FROM (VALUES ('a', 's', DATE '2000-01-01'), "
                  "('b', NULL, DATE '2000-01-02'), ('c', 't', DATE '2000-01-03'), ('d', NULL, DATE '2000-01-04')) "
                  "t(forename, surname, dob)")

    def comp(name: str, m: float) -> dict:
        return {"output_column_name": name, "comparison_levels": [
            {"is_null_level": True}, {"label_for_charts": "exact", "m_probability": m}]}

    settings = {"comparisons": [comp("forename", 0.9), comp("surname", 0.8), comp("dob", 0.5)]}
    # forename present 4/4, surname 2/4, dob 4/4: (1 * 0.9) * (0.25 * 0.8) * (1 * 0.5)
    assert estimated_prior_recall(store, "rec_t", settings) == pytest.approx(0.09)
    settings["comparisons"][1]["comparison_levels"][1]["m_probability"] = None
    assert estimated_prior_recall(store, "rec_t", settings) is None


def test_training_corrects_the_prior_by_the_estimated_recall(tstore):
    from linkage import features as F
    from linkage.model import estimated_prior_recall

    model = latest_model(tstore)
    F.build_features(tstore)
    recall = estimated_prior_recall(tstore, F.FEATURES_TABLE, model.settings)
    assert 0.05 < recall < 1
    assert model.training["prior_recall"] == pytest.approx(recall, abs=1e-4)


def test_one_name_crossed_is_no_swap_both_crossed_is(tstore):
    """'walker lily' / 'scarlett walker' (a twin's record with its names swapped, same dob and home)
    shares only the surname: read as a swap it scored 0.999999 and merged two twins (issue 14)."""
    import polars as pl

    from linkage.features import mentions_frame
    from tests.linkage.test_model_data import ADDRESS, DOB, POSTCODE

    base = {"dob": DOB, "address": ADDRESS, "postcode": POSTCODE, "sex": "F"}
    rows = [{"source": "police", "record_id": "SW1", "forename": "scarlett", "surname": "walker", **base},
            {"source": "health", "record_id": "SW2", "forename": "walker", "surname": "lily", **base},
            {"source": "health", "record_id": "SW3", "forename": "walker", "surname": "scarlet", **base}]
    tstore.insert_df("mentions", mentions_frame(pl.DataFrame(rows)))

    def levels(a, b):
        res = explain_pair(tstore, a, b)
        return {c["comparison"]: c["level"] for c in res["comparisons"]}

    crossed_once = levels("police:SW1", "health:SW2")
    assert "swapped" not in crossed_once["forename"] and "swapped" not in crossed_once["surname"]
    crossed_twice = levels("police:SW1", "health:SW3")
    assert "swapped" in crossed_twice["forename"] and "swapped" in crossed_twice["surname"]
