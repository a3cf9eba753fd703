"""One-to-one linking of two clean lists: greedy strongest-first, no two records of one list in
a person, bad input refused with the store unchanged."""

from __future__ import annotations

import polars as pl
import pytest
from typer.testing import CliRunner

from core.errors import IntelError
from core.store import Store
from intel.cli import app
from linkage.decisions import decide
from linkage.one_to_one import greedy, one_to_one_sources
from linkage.run import link
from tests.linkage.test_run import RULES, add_mentions, persons

CONFIG = {"identity": {"threshold": 0.95, "cannot_link": ["same_event"], "trusted_ref_sources": []},
          "linkage": {"one_to_one_threshold": 0.5, "edge_floor": 0.01}}


def test_greedy_takes_the_strongest_link_of_each_record_once():
    edges = pl.DataFrame({"mention_a": ["a1", "a1", "a2", "a3"], "mention_b": ["b1", "b2", "b1", "b3"],
                          "match_probability": [0.9, 0.8, 0.95, 0.4]})
    got = greedy(edges, 0.5)
    assert got.rows() == [("a2", "b1", 0.95), ("a1", "b2", 0.8)]   # a3-b3 is under the threshold


def test_two_lists_are_matched_one_to_one_and_a_list_never_holds_two_records_of_a_person(tmp_path):
    with Store(tmp_path / "s.duckdb") as store:
        add_mentions(store, [
            {"record_id": "A1", "forename": "ann", "surname": "smith", "dob": "2000-01-01"},
            {"record_id": "A2", "forename": "ann", "surname": "smith", "dob": "2000-01-01"},   # another ann smith
            {"record_id": "H1", "forename": "ann", "surname": "smith", "dob": "2000-01-01", "source": "health"},
            {"record_id": "A3", "forename": "bob", "surname": "jones", "dob": "1970-02-02"},
            {"record_id": "H3", "forename": "bob", "surname": "jones", "dob": "1970-03-03", "source": "health"},
        ])
        default = link(store, config=CONFIG, engine=RULES)
        p = persons(store)
        assert p["police:A1"] == p["police:A2"] == p["health:H1"]          # dedupe-and-link joins all three
        assert default["mode"] == "full"
        report = link(store, config=CONFIG, engine=RULES, one_to_one=["police", "health"])
        p = persons(store)
        assert report["full_because"] == ["one-to-one"]
        assert p["police:A1"] == p["health:H1"] != p["police:A2"]          # the tie goes to the smaller ids
        assert p["police:A3"] == p["health:H3"]                            # 0.6: above the one-to-one threshold
        assert report["scoring"]["one_to_one"]["matched_from_blocking"] == 2
        # a decision afterwards reclusters with the same assignment (kept in link_one_to_one)
        decide(store, "police:A3", "health:H3", "same", "a.analyst", "same NHS number", config=CONFIG)
        p = persons(store)
        assert p["police:A1"] == p["health:H1"] != p["police:A2"] and p["police:A3"] == p["health:H3"]
        # a run in the default mode again: full, and dedupe-and-link joins the three ann smiths
        back = link(store, config=CONFIG, engine=RULES)
        assert back["mode"] == "full" and back["full_because"] == ["one-to-one off"]
        p = persons(store)
        assert p["police:A1"] == p["police:A2"] == p["health:H1"]
        assert store.rows("SELECT count(*) AS n FROM link_one_to_one")[0]["n"] == 0


@pytest.mark.parametrize("value, message", [
    (["police"], "needs two different sources"), (["police", "police"], "needs two different sources"),
    (["police", " "], "needs two different sources")])
def test_one_to_one_sources_are_checked(value, message):
    with pytest.raises(IntelError, match=message):
        one_to_one_sources({}, value)
    assert one_to_one_sources({"linkage": {"one_to_one": []}}) is None


def test_cli_refuses_bad_one_to_one_sources_and_changes_nothing(tmp_path):
    db = tmp_path / "s.duckdb"
    with Store(db) as store:
        add_mentions(store, [{"record_id": "A1", "forename": "ann", "surname": "smith", "dob": "2000-01-01"}])
        before = store.content_digest()
    cli = CliRunner()
    for arg, message in (("police", "needs two different sources"),
                         ("police,nope", "no records from source 'nope'")):
        r = cli.invoke(app, ["link", "--db", str(db), "--one-to-one", arg])
        assert r.exit_code == 2 and message in r.stderr, r.output
    with Store(db, read_only=True) as store:
        assert store.content_digest() == before
