"""Undated records between a father and son of one name: cut to a person of their own, for review;
an undated record of a name nobody else at the home holds still joins its person."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl

from core.config import load_config
from core.store import Store
from linkage.agency_ids import agency_id_links
from linkage.cannot_link import cannot_link_pairs
from linkage.clusters import cluster_mentions
from linkage.generations import ambiguous_units, cluster_apart_generations, generation_sides
from tests.linkage.test_run import add_mentions

FATHER, SON = "health:F1", "health:S1"
NOMINAL = ("police:P1", "police:P2")   # the son's police nominal, no dob on either record


def test_an_undated_unit_reaching_the_other_generation_is_ambiguous() -> None:
    cluster_of = {FATHER: FATHER, "police:P1": FATHER, "police:P2": FATHER, "police:P3": FATHER, SON: SON}
    sides = generation_sides(cluster_of, [(FATHER, SON)])
    assert sides == {FATHER: {SON}, SON: {FATHER}}
    undated = {"police:P1", "police:P2"}
    ties = [("police:P1", "police:P2")]
    # P1 reaches the son (0.96, in the review band): the whole nominal is cut, P2 with it
    assert ambiguous_units(cluster_of, sides, undated, [("police:P1", SON)], ties) == {"police:P1", "police:P2"}
    # no link to the son's side: the father keeps it
    assert ambiguous_units(cluster_of, sides, undated, [("police:P1", FATHER)], ties) == set()
    # a dated record in the same nominal says whose it is
    assert ambiguous_units(cluster_of, sides, undated, [("police:P1", SON)], ties + [("police:P1", "police:P3")]) == set()
    # a person decided on one of its records: the decision stands
    assert ambiguous_units(cluster_of, sides, undated, [("police:P1", SON)], ties, settled={"police:P2"}) == set()
    # no generation pair between two persons: nothing is ambiguous
    assert ambiguous_units(cluster_of, {}, undated, [("police:P1", SON)], ties) == set()
    # the nominal's address names the son's street (or none): ambiguous; another street: the father's
    home = {FATHER: "acacia", SON: "acacia"}
    for own, cut in (("acacia", True), (None, True), ("castle", False)):
        streets = {**home, "police:P1": own, "police:P2": None}
        assert bool(ambiguous_units(cluster_of, sides, undated, [("police:P1", SON)], ties, streets=streets)) is cut


def _father_and_son(store: Store) -> None:
    add_mentions(store, [
        {"source": "health", "record_id": "F1", "forename": "paul", "surname": "bell", "dob": "1961-05-01"},
        {"source": "health", "record_id": "S1", "forename": "paul", "surname": "bell", "dob": "1987-09-12"},
        {"source": "police", "record_id": "P1", "forename": "paul", "surname": "bell", "person_ref": "N1"},
        {"source": "police", "record_id": "P2", "forename": "paul", "surname": "bell", "person_ref": "N1"},
        {"source": "health", "record_id": "K1", "forename": "john", "surname": "khan", "dob": "1970-02-02"},
        {"source": "police", "record_id": "K2", "forename": "john", "surname": "khan"},
        {"source": "police", "record_id": "W1", "forename": "paul", "surname": "bell"},
    ])
    store.execute("UPDATE mentions SET postcode = 'AB1 2CD', address = '1 acacia drive'")
    store.execute("UPDATE mentions SET address = '9 castle close' WHERE mention_id = 'police:W1'")
    links = [(NOMINAL[0], FATHER, 0.99995), (NOMINAL[0], SON, 0.96), (NOMINAL[1], FATHER, 0.9995),
             (FATHER, SON, 0.2), ("health:K1", "police:K2", 0.9999), ("police:W1", SON, 0.9999),
             ("police:W1", FATHER, 0.9)]
    store.insert_df("link_edges", pl.DataFrame(
        [(min(a, b), max(a, b), p, 0.0, "m", datetime(2026, 1, 1)) for a, b, p in links], orient="row",
        schema=["mention_a", "mention_b", "match_probability", "match_weight", "model_id", "scored_at"]))


def _cluster(store: Store, **kw) -> object:
    config = load_config()
    model = store.df("SELECT mention_a, mention_b, match_probability FROM link_edges WHERE match_probability >= 0.999")
    ids = store.df("SELECT mention_id FROM mentions")["mention_id"].to_list()
    return cluster_apart_generations(store, ids, model, agency_id_links(store, config), 0.999, 0.8,
                                     cannot_link=cannot_link_pairs(store, config), **kw)


def test_father_and_son_held_apart_their_undated_records_go_to_neither(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        _father_and_son(store)
        config = load_config()
        apart = cannot_link_pairs(store, config)
        assert (FATHER, SON, "generation") in apart.rows()
        # without the rule the son's nominal goes to the father (its stronger link)
        plain = cluster_mentions(store.df("SELECT mention_id FROM mentions")["mention_id"].to_list(),
                                 pl.concat([store.df("SELECT mention_a, mention_b, match_probability FROM link_edges "
                                                     "WHERE match_probability >= 0.999"), agency_id_links(store, config)]),
                                 0.999, cannot_link=apart)
        assert plain.cluster_of[NOMINAL[0]] == plain.cluster_of[FATHER]
        c = _cluster(store)
        # neither's: the nominal is a person of its own (its agency id still ties its two records)
        assert c.cluster_of[NOMINAL[0]] == c.cluster_of[NOMINAL[1]] == NOMINAL[0]
        assert c.cluster_of[FATHER] == FATHER and c.cluster_of[SON] == SON
        assert set(NOMINAL) <= set(c.contested)
        # the pair's name, no dob, but another street than the father's: the son's, as linked
        assert c.cluster_of["police:W1"] == SON and "police:W1" not in c.contested
        # an undated record of a name no one else at the home holds joins its person
        assert c.cluster_of["police:K2"] == c.cluster_of["health:K1"]
        assert "police:K2" not in c.contested
        # a person said the nominal is the son's: it is, and nothing is contested
        decided = _cluster(store, same=[(NOMINAL[0], SON)])
        assert decided.cluster_of[NOMINAL[0]] == decided.cluster_of[SON] == decided.cluster_of[NOMINAL[1]]
        assert not set(NOMINAL) & set(decided.contested)


def test_an_incremental_scope_reads_the_other_side_as_its_current_person(tmp_path: Path) -> None:
    """The son is outside the scope (unchanged since the last run): his current person stands
    for his side, so the nominal is cut as a full run cuts it."""
    with Store(tmp_path / "s.duckdb") as store:
        _father_and_son(store)
        store.execute("INSERT INTO person_mentions VALUES ('health:S1', 'MI-00000002X', NULL, FALSE)")
        config = load_config()
        model = store.df("SELECT mention_a, mention_b, match_probability FROM link_edges "
                         "WHERE match_probability >= 0.999 AND 'health:S1' NOT IN (mention_a, mention_b)")
        scope = [m for m in store.df("SELECT mention_id FROM mentions")["mention_id"].to_list() if m != SON]
        c = cluster_apart_generations(store, scope, model, agency_id_links(store, config), 0.999, 0.8,
                                      cannot_link=cannot_link_pairs(store, config, scope=scope))
        assert SON not in c.cluster_of
        assert c.cluster_of[NOMINAL[0]] == c.cluster_of[NOMINAL[1]] == NOMINAL[0]
        assert c.cluster_of[FATHER] == FATHER and set(NOMINAL) <= set(c.contested)
