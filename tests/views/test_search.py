"""Person search: fuzzy names and nicknames, dob swaps, postcodes; blocking keeps it to candidates."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest

from core.errors import IntelError
from views.search import dob_score, postcode_score, search_persons, surname_score


def _people(store, rows):
    now = datetime(2026, 1, 1)
    frame = pl.DataFrame([{
        "mention_id": f"police:{i}", "source": "police", "record_id": str(i), "event_key": f"police:E{i}",
        "event_id": f"E{i}", "event_date": now, "role": "victim", "event_type": "other", "forename": f,
        "surname": s, "dob": date.fromisoformat(d) if d else None, "postcode": pc, "restriction": "none",
        "drop_id": "d", "file_name": "f", "file_sha256": "x", "row_number": i, "ingested_at": now, "version": 1,
    } for i, (pid, f, s, d, pc) in enumerate(rows)], schema_overrides={"dob": pl.Date, "postcode": pl.Utf8})
    store.insert_df("mentions", frame)
    store.insert_df("person_mentions", pl.DataFrame({
        "mention_id": [f"police:{i}" for i in range(len(rows))], "person_id": [r[0] for r in rows],
        "link_probability": [None] * len(rows), "confirmed": [False] * len(rows)},
        schema={"mention_id": pl.Utf8, "person_id": pl.Utf8, "link_probability": pl.Float64, "confirmed": pl.Boolean}))


ROWS = [
    ("P1", "william", "obrien", "1990-03-04", "NB1 4QL"),
    ("P1", "bill", "obrien", "1990-03-04", "NB2 1AA"),
    ("P2", "william", "oberon", "1991-06-20", "NB1 4QL"),
    ("P3", "sarah", "smith-jones", "1985-12-01", "NB3 2BB"),
    ("P4", "zed", "zulu", "1970-01-01", "ZZ1 1ZZ"),
]


def test_ranked_with_scores_nicknames_and_apostrophes(store):
    _people(store, ROWS)
    out = search_persons(store, forename="Billy", surname="O'Brien", dob="1990-03-04")
    assert out["candidates"][0]["person_id"] == "P1" and out["candidates"][0]["score"] > 0.9
    assert out["candidates"][0]["matched_mentions"] == 2
    scores = [c["score"] for c in out["candidates"]]
    assert scores == sorted(scores, reverse=True)
    assert "P4" not in [c["person_id"] for c in out["candidates"]]


def test_day_month_swap_and_double_barrelled(store):
    _people(store, ROWS)
    swapped = search_persons(store, surname="obrien", dob="1990-04-03")  # 4 March entered as 3 April
    assert swapped["candidates"][0]["person_id"] == "P1" and swapped["candidates"][0]["field_scores"]["dob"] == 0.85
    jones = search_persons(store, forename="sarah", surname="Jones")
    assert jones["candidates"][0]["person_id"] == "P3"
    # one record, though 'smith' is near both its keys ('smith' and 'smith-jones'): counted once
    smith = search_persons(store, forename="sarah", surname="Smith")
    assert smith["candidates"][0]["person_id"] == "P3" and smith["candidates"][0]["matched_mentions"] == 1
    by_dob_pc = search_persons(store, dob="04/03/1990", postcode="nb1 4ql")
    assert by_dob_pc["candidates"][0]["person_id"] == "P1"


def test_paging_and_refusals(store):
    _people(store, ROWS)
    page = search_persons(store, forename="william", surname="obrien", limit=1)
    rest = search_persons(store, forename="william", surname="obrien", limit=1, offset=1)
    assert page["total"] == rest["total"] >= 2 and page["candidates"] != rest["candidates"]
    with pytest.raises(IntelError, match="or two of forename, surname, dob and postcode"):
        search_persons(store, surname="obrien")
    with pytest.raises(IntelError, match="postcode"):
        search_persons(store, surname="obrien", postcode="not a postcode")
    with pytest.raises(IntelError, match="dob"):
        search_persons(store, surname="obrien", dob="1990-13-45")


def test_field_scores():
    assert dob_score(date(1990, 3, 4), date(1990, 4, 3)) == 0.85
    assert dob_score(date(1990, 3, 4), date(1990, 3, 5)) == 0.6
    assert dob_score(date(1990, 3, 4), date(1991, 8, 9)) == 0.15
    assert dob_score(date(1990, 3, 4), None) is None
    assert postcode_score("NB1 4QL", "NB1 4XX") == 0.7 and postcode_score("NB1 4QL", "NB1 9ZZ") == 0.4
    assert surname_score("jones", "smith-jones") >= 0.95


def test_index_gives_the_live_answer_and_goes_stale_when_the_store_changes(store):
    from views.search import index_is_current, refresh_index

    _people(store, ROWS)
    queries = [dict(forename="Billy", surname="O'Brien", dob="1990-03-04"), dict(surname="obrien", dob="1990-04-03"),
               dict(forename="sarah", surname="Jones"), dict(dob="04/03/1990", postcode="nb1 4ql"),
               dict(surname="oberon", postcode="NB1 4QL")]
    live = [search_persons(store, **q) for q in queries]
    assert not index_is_current(store)
    assert refresh_index(store)["mentions"] == len(ROWS)
    assert index_is_current(store)
    assert [search_persons(store, **q) for q in queries] == live
    store.execute("UPDATE person_mentions SET person_id = 'P9' WHERE mention_id = 'police:1'")
    store.execute("INSERT INTO person_history VALUES (1, now(), 'split', 'P9', 'P1', ['police:1'], NULL, 'x', 'y')")
    assert not index_is_current(store)          # a change of persons: the live tables answer
    out = search_persons(store, forename="bill", surname="obrien", dob="1990-03-04")
    assert {c["person_id"] for c in out["candidates"]} >= {"P1", "P9"}


def test_any_one_identifier_an_analyst_has(store):
    _people(store, ROWS)
    store.execute("UPDATE mentions SET person_ref = 'N1234567', forename_raw = 'Bill', surname_raw = 'O''Brien', "
                  "postcode_raw = 'nb21aa' WHERE mention_id = 'police:1'")
    # a person_ref, names as the agency wrote them
    ref = search_persons(store, person_ref="N1234567")
    assert [c["person_id"] for c in ref["candidates"]] == ["P1"] and ref["candidates"][0]["field_scores"] == {"person_ref": 1.0}
    assert (ref["candidates"][0]["forename"], ref["candidates"][0]["surname"]) == ("Bill", "O'Brien")
    assert search_persons(store, person_ref="N0000000")["total"] == 0
    store.execute("UPDATE mentions SET restriction = 'health_confidential' WHERE mention_id = 'police:1'")
    assert search_persons(store, person_ref="N1234567", health_clearance=False)["total"] == 0
    # a name with a birth year: the year scores like a date of birth
    by_year = search_persons(store, surname="O'Brien", birth_year="1990")
    assert by_year["candidates"][0]["person_id"] == "P1" and by_year["candidates"][0]["field_scores"]["dob"] == 1.0
    assert "P2" not in {c["person_id"] for c in search_persons(store, surname="obrien", birth_year=1995)["candidates"]}
    # a postcode alone
    assert {c["person_id"] for c in search_persons(store, postcode="NB1 4QL")["candidates"]} == {"P1", "P2"}
    # UK dates
    assert search_persons(store, surname="obrien", dob="04/03/1990")["candidates"][0]["person_id"] == "P1"
    for kwargs, message in [({"surname": "obrien"}, "give one of: an agency reference"),
                            ({"surname": "obrien", "birth_year": "nineteen"}, "is not a year"),
                            ({"surname": "obrien", "dob": "31/02/1990"}, "dob")]:
        with pytest.raises(IntelError, match=message):
            search_persons(store, **kwargs)
