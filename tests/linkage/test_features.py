"""Features for the linkage model: nicknames, name parts, swapped names, postcodes, dob parts."""

from __future__ import annotations

import datetime as dt

import polars as pl

from linkage.features import (build_features, canonical_forename, drop_temp, mentions_frame, nickname_pairs,
                              source_views)


def _load(store, rows: list[dict]) -> None:
    schema = {"source": pl.Utf8, "record_id": pl.Utf8, "forename": pl.Utf8, "surname": pl.Utf8, "dob": pl.Date,
              "postcode": pl.Utf8, "postcode_raw": pl.Utf8, "address": pl.Utf8, "person_ref": pl.Utf8}
    store.insert_df("mentions", mentions_frame(pl.DataFrame([{k: r.get(k) for k in schema} for r in rows],
                                                            schema=schema)))


def _features(store) -> dict[str, dict]:
    build_features(store)
    return {r["mention_id"]: r for r in store.rows("SELECT * FROM linkage_features")}


def test_nickname_table_is_real_and_clean():
    pairs = nickname_pairs()
    assert len(pairs) >= 300
    assert all(n != c and n.isascii() and n == n.lower() for n, c in pairs)
    assert len(set(pairs)) == len(pairs)


def test_nicknames_canonicalise_to_the_formal_name():
    assert canonical_forename("bill") == "william"
    assert canonical_forename("peggy") == "margaret"
    assert canonical_forename("jack") == "john"
    assert canonical_forename("william") == "william"
    assert canonical_forename("zebedee") == "zebedee"
    assert canonical_forename(None) is None


def test_sql_features_match_python_and_keep_every_alias(store):
    _load(store, [
        {"source": "police", "record_id": "1", "forename": "bill", "surname": "smith"},
        {"source": "health", "record_id": "2", "forename": "jo", "surname": "smith"},
        {"source": "health", "record_id": "3", "forename": "zebedee", "surname": "smith"},
    ])
    f = _features(store)
    assert f["police:1"]["forename_canon"] == "william"
    assert sorted(f["police:1"]["forename_aliases"]) == ["bill", "william"]
    # 'jo' may be Joseph or Josephine: the canonical is one, the aliases keep both
    assert f["health:2"]["forename_canon"] == canonical_forename("jo")
    assert {"joseph", "josephine"} <= set(f["health:2"]["forename_aliases"])
    assert f["health:3"]["forename_canon"] == "zebedee"


def test_surname_parts_and_swapped_names_share_a_blocking_key(store):
    _load(store, [
        {"source": "police", "record_id": "1", "forename": "amy", "surname": "smith-jones"},
        {"source": "health", "record_id": "2", "forename": "smith-jones", "surname": "amy"},
        {"source": "health", "record_id": "3", "forename": "amy", "surname": "van der berg"},
    ])
    f = _features(store)
    assert f["police:1"]["surname_parts"] == ["smith", "jones"]
    assert f["health:3"]["surname_parts"] == ["van", "der", "berg"]
    assert f["police:1"]["name_key"] == f["health:2"]["name_key"]
    assert f["police:1"]["initials_key"] == f["health:2"]["initials_key"]


def test_postcode_sector_district_and_non_uk_postcodes(store):
    _load(store, [
        {"source": "police", "record_id": "1", "forename": "a", "surname": "b", "postcode": "SW1A 1AA"},
        {"source": "police", "record_id": "2", "forename": "a", "surname": "b", "postcode": "M1 7ED"},
        {"source": "police", "record_id": "3", "forename": "a", "surname": "b", "postcode_raw": " 4000 "},
        {"source": "police", "record_id": "4", "forename": "a", "surname": "b"},
    ])
    f = _features(store)
    assert (f["police:1"]["postcode_sector"], f["police:1"]["postcode_district"]) == ("SW1A 1", "SW1A")
    assert (f["police:2"]["postcode_sector"], f["police:2"]["postcode_district"]) == ("M1 7", "M1")
    assert f["police:3"]["postcode"] == "4000"  # not a UK postcode: the raw value, compared whole
    assert f["police:3"]["postcode_sector"] is None and f["police:3"]["postcode_district"] is None
    assert f["police:4"]["postcode"] is None


def test_dob_parts_address_tokens_and_person_ref(store):
    _load(store, [{"source": "police", "record_id": "1", "forename": "a", "surname": "b",
                   "dob": dt.date(2010, 4, 9), "address": "1 high street high", "person_ref": " N1 "}])
    f = _features(store)["police:1"]
    assert (f["dob_year"], f["dob_month"], f["dob_day"]) == (2010, 4, 9)
    assert sorted(f["address_tokens"]) == ["1", "high", "street"]
    assert f["person_ref"] == "N1"


def test_one_view_per_source_and_temp_objects_leave_no_trace(store):
    before = store.content_digest()
    store.rows("SELECT 1")  # Store.content_digest leaves a DuckDB result pending (fetchone); see report
    _load(store, [{"source": "health", "record_id": "1", "forename": "a", "surname": "b"},
                  {"source": "police", "record_id": "2", "forename": "a", "surname": "b"}])
    after_load = store.content_digest()
    build_features(store)
    views = source_views(store)
    assert list(views) == ["police", "health"]
    assert store.rows(f"SELECT count(*) AS n FROM {views['health']}")[0]["n"] == 1
    drop_temp(store, list(views.values()) + ["linkage_features"])
    assert store.content_digest() == after_load != before
