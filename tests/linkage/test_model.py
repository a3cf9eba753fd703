"""The trained Splink model: links duplicates, keeps twins apart, TF, saved and reused, corrupt models."""

from __future__ import annotations

import json

import pytest

from intel.errors import IntelError
from linkage.explain import explain_pair
from linkage.model import SPLINK_VERSION, latest_model, load_or_train, settings_creator
from tests.linkage.test_model_data import edge, trained_copy

THRESHOLD = 0.95  # identity's default clustering threshold


@pytest.fixture
def tstore(tmp_path):
    s = trained_copy(tmp_path)
    yield s
    s.close()


def test_model_definition_is_python_and_portable():
    # the same SettingsCreator renders for Splink's Spark backend too (SQL translated by Splink)
    duck = settings_creator().create_settings_dict("duckdb")
    assert duck["link_type"] == "link_and_dedupe" and duck["unique_id_column_name"] == "mention_id"
    names = [c["output_column_name"] for c in duck["comparisons"]]
    assert names == ["forename", "surname", "dob", "sex", "postcode", "address", "person_ref"]
    spark = settings_creator().create_settings_dict("spark")
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
    again = load_or_train(tstore)
    assert again.reused and again.model_id == first.model_id and again.settings == first.settings
    assert tstore.rows("SELECT count(*) AS n FROM linkage_models")[0]["n"] == n
    row = tstore.rows("SELECT * FROM linkage_models WHERE model_id = ?", [first.model_id])[0]
    assert row["fingerprint"] == first.fingerprint and row["trained_at"] == first.trained_at
    assert json.loads(row["model_json"])["probability_two_random_records_match"] > 0


def test_retrain_on_request_adds_a_model(tstore):
    first = latest_model(tstore)
    new = load_or_train(tstore, retrain=True)
    assert not new.reused and new.model_id != first.model_id
    assert latest_model(tstore).model_id == new.model_id
    assert all(s.get("skipped") is None for s in new.training["em_sessions"])


def test_corrupt_model_json_is_a_clear_error(tstore):
    mid = latest_model(tstore).model_id
    tstore.execute("UPDATE linkage_models SET model_json = '{\"comparisons\": [' WHERE model_id = ?", [mid])
    with pytest.raises(IntelError, match=r"corrupt.*intel link --retrain"):
        load_or_train(tstore)
    tstore.execute("UPDATE linkage_models SET model_json = '{\"link_type\": \"link_and_dedupe\", "
                   "\"comparisons\": [{\"nonsense\": 1}]}' WHERE model_id = ?", [mid])
    with pytest.raises(IntelError, match=r"corrupt.*intel link --retrain"):
        load_or_train(tstore)


def test_model_from_another_splink_version_is_a_clear_error(tstore):
    tstore.execute("UPDATE linkage_models SET splink_version = '4.0.7'")
    with pytest.raises(IntelError, match=r"Splink 4\.0\.7.*intel link --retrain"):
        load_or_train(tstore)
    # retraining is the way out
    assert not load_or_train(tstore, retrain=True).reused


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
    model = load_or_train(store)
    assert 0 < model.settings["probability_two_random_records_match"] < 1
    assert score_all(store, model)["edges"] > 0
    assert edge(store, "police:1", "police:1b") > 0.5


def _blocked_by(left: dict, right: dict) -> list[str]:
    """The blocking rules that put forward the pair (feature rows as dicts), evaluated in DuckDB."""
    import duckdb

    from linkage.model import BLOCKING_RULES

    con = duckdb.connect()
    cols = sorted(set(left) | set(right))
    row = "SELECT " + ", ".join(f"?::{'DATE' if c == 'dob' else 'INTEGER' if c.startswith('dob_') else 'VARCHAR'} AS {c}"
                                for c in cols)
    con.execute(f"CREATE TABLE l AS {row}", [left.get(c) for c in cols]).fetchall()
    con.execute(f"CREATE TABLE r AS {row}", [right.get(c) for c in cols]).fetchall()
    return [rule for rule in BLOCKING_RULES
            if con.execute(f"SELECT count(*) FROM l, r WHERE {rule}").fetchall()[0][0]]


def test_every_blocking_rule_joins_on_more_than_one_key():
    # a single key (a name, a house number, a postcode) makes blocks that grow with the square of the data
    from linkage.model import BLOCKING_RULES

    for rule in BLOCKING_RULES:
        assert rule.count(" = ") >= 2, rule


def test_house_number_with_dob_blocks_a_duplicate_whose_names_and_postcode_are_corrupt():
    base = {"source": "police", "person_ref": None, "dob": "1971-04-22", "dob_year": 1971, "dob_month": 4,
            "dob_day": 22, "address": None, "address_number": "14", "postcode_district": None}
    a = {**base, "forename_canon": "luge", "surname": "menzies", "name_key": "luge|menzies", "initials_key": "lm",
         "postcode": "6072"}
    b = {**base, "source": "health", "forename_canon": "luke", "surname": "dixon", "name_key": "dixon|luke",
         "initials_key": "dl", "postcode": "6027"}
    assert any("address_number" in rule for rule in _blocked_by(a, b))
