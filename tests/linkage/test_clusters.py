"""Constrained agglomeration: chaining blocked by 'different', 'same' forces, determinism."""

from __future__ import annotations

import copy


import polars as pl
from hypothesis import given, settings, strategies as st

from linkage.clusters import cluster_mentions, cluster_mentions_exact, components


def test_links_at_or_above_threshold_join_and_below_do_not():
    c = cluster_mentions(["a", "b", "c", "d"], [("a", "b", 0.95), ("c", "d", 0.9499)], 0.95)
    assert c.clusters() == [["a", "b"], ["c"], ["d"]]
    assert c.probability == {"a": 0.95, "b": 0.95, "c": None, "d": None}
    assert not any(c.confirmed.values())


def test_chaining_is_blocked_by_different():
    # A~B strong, B~C strong: unconstrained this chains A=C; a person said A and C are different
    edges = [("A", "B", 0.99), ("B", "C", 0.97)]
    free = cluster_mentions(["A", "B", "C"], edges, 0.95)
    assert free.clusters() == [["A", "B", "C"]]
    held = cluster_mentions(["A", "B", "C"], edges, 0.95, different=[("C", "A")])
    # the stronger link A~B is taken first; B~C would put A and C together, so it is skipped
    assert held.clusters() == [["A", "B"], ["C"]]
    assert held.blocked == [("B", "C", 0.97)]
    assert held.probability["C"] is None


def test_different_splits_a_direct_link_and_lower_links_still_join_elsewhere():
    edges = [("a", "b", 0.99), ("a", "c", 0.98), ("b", "c", 0.96)]
    c = cluster_mentions(list("abc"), edges, 0.95, different=[("a", "b")])
    assert c.clusters() == [["a", "c"], ["b"]]
    assert c.probability == {"a": 0.98, "b": None, "c": 0.98}


def test_same_forces_a_merge_below_threshold_and_is_confirmed():
    c = cluster_mentions(list("abcd"), [("a", "b", 0.10), ("c", "d", 0.99)], 0.95, same=[("b", "a")])
    assert c.clusters() == [["a", "b"], ["c", "d"]]
    assert c.probability["a"] == c.probability["b"] == 1.0
    assert c.confirmed == {"a": True, "b": True, "c": False, "d": False}


def test_same_beats_model_link_that_would_contradict_a_different():
    # same(a,b) first; link a~c 0.99 would put c with b, which is different from c
    c = cluster_mentions(list("abc"), [("a", "c", 0.99)], 0.95, same=[("a", "b")], different=[("b", "c")])
    assert c.clusters() == [["a", "b"], ["c"]]


def test_unlinkable_and_unknown_mentions():
    c = cluster_mentions(["a", "b", "u"], [("a", "u", 0.999), ("a", "zz", 0.999), ("a", "b", 0.99)], 0.95,
                         exclude_from_links=["u"])
    assert c.clusters() == [["a", "b"], ["u"]]
    assert set(c.cluster_of) == {"a", "b", "u"}


def test_frame_input_and_duplicate_edges_take_the_strongest():
    edges = pl.DataFrame({"mention_a": ["a", "b"], "mention_b": ["b", "a"], "match_probability": [0.96, 0.99]})
    c = cluster_mentions(["a", "b"], edges, 0.95)
    assert c.probability == {"a": 0.99, "b": 0.99}
    f = c.frame()
    assert f.columns == ["mention_id", "cluster", "link_probability", "confirmed"]
    assert f["cluster"].to_list() == ["a", "a"]


def test_ties_are_broken_by_mention_ids_not_input_order():
    # equal probabilities: which link wins decides whether x joins y or z (x~y and x~z, y != z)
    edges = [("x", "z", 0.97), ("x", "y", 0.97)]
    for order in (edges, edges[::-1]):
        c = cluster_mentions(["z", "y", "x"], order, 0.95, different=[("y", "z")])
        assert c.clusters() == [["x", "y"], ["z"]]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 11), st.integers(0, 11), st.sampled_from([0.9, 0.95, 0.97, 0.99])),
                max_size=30),
       st.lists(st.tuples(st.integers(0, 11), st.integers(0, 11)), max_size=4),
       st.randoms(use_true_random=False))
def test_deterministic_and_never_joins_a_different_pair(raw_edges, raw_diff, rnd):
    ids = [f"m{i:02d}" for i in range(12)]
    edges = [(ids[a], ids[b], p) for a, b, p in raw_edges]
    diff = [(ids[a], ids[b]) for a, b in raw_diff if a != b]
    first = cluster_mentions(ids, edges, 0.95, different=diff)
    shuffled = edges[:]
    rnd.shuffle(shuffled)
    again = cluster_mentions(ids[::-1], [(b, a, p) for a, b, p in shuffled], 0.95, different=diff[::-1])
    assert first.clusters() == again.clusters()
    assert first.probability == again.probability
    for a, b in diff:
        assert first.cluster_of[a] != first.cluster_of[b]
    # without constraints the result is exactly the connected components of strong links
    if not diff:
        import networkx as nx
        g = nx.Graph()
        g.add_nodes_from(ids)
        g.add_edges_from((a, b) for a, b, p in edges if p >= 0.95 and a != b)
        assert sorted(sorted(c) for c in nx.connected_components(g)) == sorted(first.clusters())


def test_trusted_agency_ids_stop_a_weak_record_chaining_two_people() -> None:
    # g1, g2: George (council id 17); o1, o2: his brother Oliver (council id 18); x: a record
    # with no forename that the model ties strongly to both brothers
    edges = [("g1", "g2", 0.99999), ("o1", "o2", 0.99999), ("g1", "x", 0.9996), ("o1", "x", 0.9995)]
    refs = {"g1": ("social_care", "17"), "o1": ("social_care", "18"), "x": ("social_care", "17")}
    c = cluster_mentions(["g1", "g2", "o1", "o2", "x"], edges, 0.999, trusted_refs=refs)
    assert c.clusters() == [["g1", "g2", "x"], ["o1", "o2"]]
    assert c.blocked_by_refs == [("o1", "x", 0.9995)]
    # without the ids the chain merges everyone: the failure this guards against
    assert len(cluster_mentions(["g1", "g2", "o1", "o2", "x"], edges, 0.999).clusters()) == 1
    # a person's 'same' decision still joins two ids (a council's own duplicate record)
    forced = cluster_mentions(["g1", "g2", "o1", "o2", "x"], edges, 0.999, same=[("g1", "o1")], trusted_refs=refs)
    assert len(forced.clusters()) == 1
    # ids of an agency not trusted this way (police) are not passed, so they never block
    assert cluster_mentions(["a", "b"], [("a", "b", 0.9999)], 0.999,
                            trusted_refs={"a": ("health", "1")}).clusters() == [["a", "b"]]


def test_the_hub_config_reaches_the_trusted_agency_ids(tmp_path) -> None:
    """A hub that trusts no agency ids (its own config, not the defaults) gets no id constraint."""
    from core.config import load_config
    from core.store import Store
    from linkage.run import trusted_refs

    with Store(tmp_path / "s.duckdb") as store:
        store.execute("INSERT INTO mentions (mention_id, source, record_id, event_key, event_id, event_date, role, "
                      "event_type, person_ref, restriction, drop_id, file_name, file_sha256, row_number, ingested_at, "
                      "version) VALUES ('health:H1', 'health', 'H1', 'health:E1', 'E1', '2025-01-01', 'patient', 'gp', "
                      "'NHS1', 'none', 'd', 'f', 's', 1, '2025-01-02', 1)")
        assert trusted_refs(store, load_config()) == {"health:H1": ("health", "NHS1")}
        hub = copy.deepcopy(load_config())
        hub["identity"]["trusted_ref_sources"] = []
        assert trusted_refs(store, hub) == {}


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 19), st.integers(0, 19), st.sampled_from([0.9, 0.95, 0.97, 0.99, 1.0])),
                max_size=45),
       st.lists(st.tuples(st.integers(0, 19), st.integers(0, 19)), max_size=3),
       st.lists(st.tuples(st.integers(0, 19), st.integers(0, 19)), max_size=3),
       st.dictionaries(st.integers(0, 19), st.tuples(st.sampled_from(["social_care", "health"]),
                                                      st.sampled_from(["R1", "R2", "R3"])), max_size=8),
       st.sets(st.integers(0, 19), max_size=2),
       st.lists(st.tuples(st.integers(0, 19), st.integers(0, 19)), max_size=4))
def test_bulk_components_give_what_the_link_by_link_algorithm_gives(raw_edges, raw_same, raw_diff, raw_refs, raw_excl,
                                                                    raw_apart):
    from linkage.clusters import cluster_mentions_exact

    ids = [f"m{i:02d}" for i in range(20)]
    edges = [(ids[a], ids[b], p) for a, b, p in raw_edges] + [("m00", "outsider", 0.99)]
    same = [(ids[a], ids[b]) for a, b in raw_same]
    diff = [(ids[a], ids[b]) for a, b in raw_diff if a != b and (ids[a], ids[b]) not in same]
    refs = {ids[i]: r for i, r in raw_refs.items()}
    excl = [ids[i] for i in raw_excl]
    apart = [(ids[a], ids[b]) for a, b in raw_apart]
    args = dict(same=same, different=diff, trusted_refs=refs, exclude_from_links=excl, cannot_link=apart)
    fast, exact = cluster_mentions(ids, edges, 0.95, **args), cluster_mentions_exact(ids, edges, 0.95, **args)
    assert fast.cluster_of == exact.cluster_of
    assert fast.probability == exact.probability and fast.confirmed == exact.confirmed
    assert sorted(fast.blocked) == sorted(exact.blocked)
    assert sorted(fast.blocked_by_refs) == sorted(exact.blocked_by_refs)
    assert sorted(fast.conflicting_same) == sorted(exact.conflicting_same)
    assert sorted(fast.blocked_by_cannot_link) == sorted(exact.blocked_by_cannot_link)
    # no cluster holds a cannot-link pair unless people's 'same' decisions chain the two together
    joined_by_people = components(same)
    for a, b in apart:
        if a != b and fast.cluster_of[a] == fast.cluster_of[b]:
            assert a in joined_by_people and joined_by_people[a] == joined_by_people.get(b)


def test_twins_on_one_event_stay_apart_through_a_third_record():
    """Twin A and twin B on one contact (a cannot-link pair); a health record C (day and month of
    birth swapped) links to both above the threshold. C joins the twin it links to far more
    strongly and the other stays apart; when the two links are nearly as strong, C is contested
    and joins neither (linkage/contested.py); without the cannot-link pair the three would be
    one person."""
    edges = [("sc:A", "health:C", 0.9999999), ("sc:B", "health:C", 0.9993)]   # 23.3 and 10.5 bits
    apart = [("sc:A", "sc:B")]
    c = cluster_mentions(["sc:A", "sc:B", "health:C"], edges, 0.999, cannot_link=apart)
    assert c.clusters() == [["health:C", "sc:A"], ["sc:B"]] and c.contested == []
    assert [sorted(x[:2]) for x in c.blocked_by_cannot_link] == [["health:C", "sc:B"]]
    edges = [("sc:A", "health:C", 0.9995), ("sc:B", "health:C", 0.9993)]       # 11.0 and 10.5 bits
    c = cluster_mentions(["sc:A", "sc:B", "health:C"], edges, 0.999, cannot_link=apart)
    assert c.clusters() == [["health:C"], ["sc:A"], ["sc:B"]] and c.contested == ["health:C"]
    assert cluster_mentions(["sc:A", "sc:B", "health:C"], edges, 0.999).clusters() == [["health:C", "sc:A", "sc:B"]]
    # a person's 'same' still joins them
    forced = cluster_mentions(["sc:A", "sc:B", "health:C"], edges, 0.999, same=[("sc:A", "sc:B")], cannot_link=apart)
    assert forced.clusters() == [["health:C", "sc:A", "sc:B"]]


def test_a_record_matching_a_father_and_his_son_equally_is_contested():
    """Father F and son S of one name are a generation apart (cannot-link); a police record R with
    no dob at their home links to both nearly equally: R joins neither, and the run says so."""
    edges = [("F1", "F2", 0.99999999), ("S1", "S2", 0.9999999), ("R", "S1", 0.9995), ("F1", "R", 0.9994)]
    apart = [("F1", "S1"), ("F2", "S1"), ("F1", "S2"), ("F2", "S2")]
    for fn in (cluster_mentions, cluster_mentions_exact):
        c = fn(["F1", "F2", "S1", "S2", "R"], edges, 0.999, cannot_link=apart)
        assert c.clusters() == [["F1", "F2"], ["R"], ["S1", "S2"]] and c.contested == ["R"]
        assert c.probability["R"] is None
    # a 'same' decision on R settles it: never contested
    c = cluster_mentions(["F1", "F2", "S1", "S2", "R"], edges, 0.999, cannot_link=apart, same=[("R", "S1")])
    assert c.clusters() == [["F1", "F2"], ["R", "S1", "S2"]] and c.contested == []


def test_a_record_matching_two_agency_ids_as_well_is_contested_unless_it_carries_one() -> None:
    """bench/lookalike_chains.py, hard seed 63: a father's no-dob social-care record at the home he
    shares with his son of one name scored the same against the son's GP record as against his own
    (two NHS ids): the tie went to the son. Now such a record joins neither (contested)."""
    edges = [("f1", "f2", 0.99999), ("s1", "s2", 0.99999), ("s1", "x", 0.9999793), ("f1", "x", 0.9999793)]
    refs = {"f1": ("health", "A"), "s1": ("health", "B")}
    c = cluster_mentions(["f1", "f2", "s1", "s2", "x"], edges, 0.999, trusted_refs=refs)
    assert c.contested == ["x"]
    assert c.clusters() == [["f1", "f2"], ["s1", "s2"], ["x"]]
    # far weaker to the other side (more than CONTESTED_BITS): it stays where it was tied
    weak = cluster_mentions(["f1", "f2", "s1", "s2", "x"], edges[:3] + [("f1", "x", 0.9991)], 0.999, trusted_refs=refs)
    assert weak.contested == [] and weak.cluster_of["x"] == weak.cluster_of["s1"]
    # a record carrying an id of that agency itself is its owner's (the agency says so)
    own = cluster_mentions(["f1", "f2", "s1", "s2", "x"], edges, 0.999, trusted_refs={**refs, "x": ("health", "B")})
    assert own.contested == [] and own.cluster_of["x"] == own.cluster_of["s1"]
