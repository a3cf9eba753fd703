"""Stable person ids: merges keep the older id, splits leave the id with the larger part."""

from __future__ import annotations

from datetime import datetime

import pytest

from core.person_ids import MalformedPersonId
from core.errors import NotFound
from linkage.clusters import cluster_mentions
from linkage.identity import assign_person_ids, format_person_id, person_record, resolve_person_id, scalar, write_identity
from tests.linkage.test_run import add_mentions


def test_new_clusters_get_sequential_ids():
    a = assign_person_ids([["b", "a"], ["c"]], {}, next_number=41)
    assert a.person_of == {"a": "MI-00000041V", "b": "MI-00000041V", "c": "MI-00000042W"}
    assert [e["action"] for e in a.events] == ["create", "create"]


def test_merge_keeps_the_oldest_id():
    prev = {"a": "MI-00000002C", "b": "MI-00000002C", "c": "MI-00000001B"}
    a = assign_person_ids([["a", "b", "c"]], prev, next_number=3)
    assert set(a.person_of.values()) == {"MI-00000001B"}
    assert a.merged == {"MI-00000002C": "MI-00000001B"}
    assert a.events == [{"action": "merge", "person_id": "MI-00000002C", "related_person_id": "MI-00000001B",
                         "mention_ids": ["a", "b"]}]


def test_age_order_not_id_order_decides_the_survivor():
    prev = {"a": "MI-00000002C", "c": "MI-00000001B"}
    a = assign_person_ids([["a", "c"]], prev, next_number=3, age=lambda p: {"MI-00000002C": 0, "MI-00000001B": 1}[p])
    assert a.merged == {"MI-00000001B": "MI-00000002C"}


def test_split_larger_part_keeps_the_id():
    prev = dict.fromkeys("abcde", "MI-00000007H")
    a = assign_person_ids([["a", "b"], ["c", "d", "e"]], prev, next_number=8)
    assert a.person_of["c"] == "MI-00000007H" and a.person_of["a"] == "MI-00000008J"
    assert a.split_from == {"MI-00000008J": ["MI-00000007H"]}
    assert a.events == [{"action": "split", "person_id": "MI-00000008J", "related_person_id": "MI-00000007H",
                         "mention_ids": ["a", "b"]}]


def test_move_between_existing_persons_and_attach():
    prev = {"a": "MI-00000001B", "b": "MI-00000001B", "c": "MI-00000001B", "d": "MI-00000002C", "e": "MI-00000002C"}
    a = assign_person_ids([["a", "b"], ["c", "d", "e", "new"]], prev, next_number=3)
    assert a.person_of == {"a": "MI-00000001B", "b": "MI-00000001B", "c": "MI-00000002C", "d": "MI-00000002C",
                           "e": "MI-00000002C", "new": "MI-00000002C"}
    actions = {(e["action"], e["person_id"], e["related_person_id"]): e["mention_ids"] for e in a.events}
    assert actions == {("move", "MI-00000002C", "MI-00000001B"): ["c"], ("attach", "MI-00000002C", None): ["new"]}


def _write(store, clusters_edges, same=(), different=(), run_id="r1", **kw):
    ids = {m for e in clusters_edges for m in e[:2]} | {m for p in list(same) + list(different) for m in p}
    ids |= set(kw.pop("extra", ()))
    c = cluster_mentions(ids, clusters_edges, 0.95, same=same, different=different)
    with store.transaction():
        return write_identity(store, c, now=datetime(2026, 1, 1), run_id=run_id, **kw)


def test_store_merge_split_history_and_resolution(store):
    add_mentions(store, [{"record_id": r, "forename": "x", "surname": "y"} for r in "abcdef"])
    m = {r: f"police:{r}" for r in "abcdef"}
    _write(store, [(m["a"], m["b"], 0.99), (m["c"], m["d"], 0.99)], extra=[m["e"], m["f"]])
    first = dict(store.df("SELECT mention_id, person_id FROM person_mentions").rows())
    pa, pc = first[m["a"]], first[m["c"]]
    assert pa < pc
    # run 2: a-b and c-d are one person: the older id (a's) survives
    _write(store, [(m["a"], m["b"], 0.99), (m["c"], m["d"], 0.99), (m["b"], m["c"], 0.97)],
           extra=[m["e"], m["f"]], run_id="r2")
    assert resolve_person_id(store, pc) == pa
    assert store.rows("SELECT status, merged_into FROM persons WHERE person_id = ?", [pc]) == [
        {"status": "merged", "merged_into": pa}]
    merge = store.rows("SELECT * FROM person_history WHERE action = 'merge'")
    assert len(merge) == 1 and merge[0]["person_id"] == pc and merge[0]["related_person_id"] == pa
    assert merge[0]["run_id"] == "r2" and sorted(merge[0]["mention_ids"]) == [m["c"], m["d"]]
    # a decision by a person splits {a} off {a,b,c,d}: the larger part keeps pa
    _write(store, [(m["a"], m["b"], 0.99), (m["c"], m["d"], 0.99), (m["b"], m["c"], 0.97)],
           different=[(m["a"], m["b"])], extra=[m["e"], m["f"]], run_id=None,
           decided_by="j.smith", reason="different dates of birth on the birth certificate")
    now = dict(store.df("SELECT mention_id, person_id FROM person_mentions").rows())
    assert now[m["b"]] == now[m["c"]] == now[m["d"]] == pa
    split = store.rows("SELECT * FROM person_history WHERE action = 'split'")
    assert len(split) == 1 and split[0]["related_person_id"] == pa and split[0]["mention_ids"] == [m["a"]]
    assert split[0]["decided_by"] == "j.smith" and "birth certificate" in split[0]["reason"]
    assert now[m["a"]] == split[0]["person_id"] and resolve_person_id(store, now[m["a"]]) == now[m["a"]]
    assert resolve_person_id(store, pa) == pa  # split: still itself
    # the record of the merged id leads to the survivor and shows the whole story
    rec = person_record(store, pc)
    assert rec["person_id"] == pa and rec["merged_ids"] == [pc] and rec["status"] == "active"
    assert [x["mention_id"] for x in rec["mentions"]] == [m["b"], m["c"], m["d"]]
    assert {h["action"] for h in rec["history"]} == {"create", "merge", "split"}
    assert all(x["link_probability"] is not None for x in rec["mentions"])
    with pytest.raises(NotFound, match="MI-99999999B"):
        resolve_person_id(store, "MI-99999999B")
    with pytest.raises(MalformedPersonId, match="not a person id"):
        person_record(store, "nobody")


def test_ids_survive_a_rerun_unchanged(store):
    add_mentions(store, [{"record_id": r, "forename": "x", "surname": "y"} for r in "abc"])
    edges = [("police:a", "police:b", 0.99)]
    _write(store, edges, extra=["police:c"])
    before = store.df("SELECT * FROM person_mentions ORDER BY 1")
    hist = scalar(store, "SELECT count(*) FROM person_history")
    report = _write(store, edges, extra=["police:c"], run_id="r2")
    assert store.df("SELECT * FROM person_mentions ORDER BY 1").equals(before)
    assert scalar(store, "SELECT count(*) FROM person_history") == hist
    assert report["persons_created"] == report["persons_merged"] == report["persons_split"] == 0


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=1, max_size=14), st.lists(st.integers(0, 5), min_size=14, max_size=14),
       st.lists(st.booleans(), min_size=14, max_size=14))
def test_assignment_invariants(old_labels, new_labels, is_new):
    mentions = [f"m{i:02d}" for i in range(len(old_labels))]
    previous = {m: format_person_id(old_labels[i] + 1) for i, m in enumerate(mentions) if not is_new[i]}
    groups: dict[int, list[str]] = {}
    for i, m in enumerate(mentions):
        groups.setdefault(new_labels[i], []).append(m)
    a = assign_person_ids(list(groups.values()), previous, next_number=100)
    ids_of_cluster = [{a.person_of[m] for m in g} for g in groups.values()]
    assert all(len(s) == 1 for s in ids_of_cluster)                        # one id per cluster
    assert len({next(iter(s)) for s in ids_of_cluster}) == len(groups)      # distinct clusters, distinct ids
    assert a.created == [format_person_id(100 + i) for i in range(len(a.created))]  # issued in sequence
    survivors = set(a.person_of.values())
    for old in set(previous.values()):
        assert (old in survivors) != (old in a.merged)                      # survives, or merged ...
        if old in a.merged:
            assert a.merged[old] in survivors and a.merged[old] < old       # ... into an older survivor
    moved = sum(1 for m in mentions if previous.get(m) != a.person_of[m])
    assert sum(len(e["mention_ids"]) for e in a.events) == moved            # every move logged once
    for old in set(previous.values()) & survivors:                          # the larger part keeps the id
        mine = [m for m in mentions if previous.get(m) == old]
        kept = sum(1 for m in mine if a.person_of[m] == old)
        assert all(kept >= sum(1 for m in mine if a.person_of[m] == p) for p in survivors)


def test_a_persons_records_read_by_key_are_the_joins(store, monkeypatch):
    """person_record reads a person's records by their keys (an index lookup each); what it reads
    is what the join over every mention reads, in the same order - and so is the join it falls
    back to for a person with very many records."""
    import linkage.identity as identity

    add_mentions(store, [{"record_id": r, "forename": "x", "surname": "y"} for r in "zyxwvu"])
    m = {r: f"police:{r}" for r in "zyxwvu"}
    _write(store, [(m["z"], m["y"], 0.99), (m["y"], m["x"], 0.995), (m["w"], m["v"], 0.999)], extra=[m["u"]])
    persons = [r["person_id"] for r in store.rows("SELECT DISTINCT person_id FROM person_mentions ORDER BY 1")]
    joined = {p: store.rows(
        "SELECT m.mention_id, m.source, m.record_id, pm.link_probability, pm.confirmed FROM person_mentions pm "
        "JOIN mentions m USING (mention_id) WHERE pm.person_id = ? ORDER BY m.source, m.record_id", [p])
        for p in persons}
    assert sorted(len(v) for v in joined.values()) == [1, 2, 3]
    assert {p: person_record(store, p)["mentions"] for p in persons} == joined
    monkeypatch.setattr(identity, "_BY_KEY", 1)
    assert {p: person_record(store, p)["mentions"] for p in persons} == joined


def _record_by_joins(store, person_id: str) -> dict:
    """The person record as it was read before its reads went by key: a recursive join for the
    merged ids, one filter over the whole history (the reference the faster reads must equal)."""
    resolved = resolve_person_id(store, person_id)
    aliases = {r["person_id"] for r in store.rows(
        "WITH RECURSIVE a(person_id) AS (SELECT ?::VARCHAR UNION "
        "SELECT p.person_id FROM persons p JOIN a ON p.merged_into = a.person_id) SELECT person_id FROM a", [resolved])}
    ids = sorted(aliases)
    history = store.rows(
        "SELECT history_id, happened_at, action, person_id, related_person_id, mention_ids, run_id, decided_by, reason "
        "FROM person_history WHERE list_contains(?, person_id) OR list_contains(?, related_person_id) "
        "ORDER BY history_id", [ids, ids])
    return {"person_id": resolved, "merged_ids": sorted(a for a in aliases if a != resolved), "history": history}


def test_a_persons_merged_ids_and_history_read_by_key_are_the_joins(store, monkeypatch):
    """A chain of merges (f into e, then e into a, so a's record names both) and a split: every
    person's merged ids and history read by key equal the joins, by either history read."""
    import linkage.identity as identity

    add_mentions(store, [{"record_id": r, "forename": "x", "surname": "y"} for r in "abcdefg"])
    m = {r: f"police:{r}" for r in "abcdefg"}
    _write(store, [(m["a"], m["b"], 0.99)], extra=[m["c"], m["d"], m["e"], m["f"], m["g"]])
    _write(store, [(m["a"], m["b"], 0.99), (m["e"], m["f"], 0.99)], extra=[m["c"], m["d"], m["g"]], run_id="r2")
    _write(store, [(m["a"], m["b"], 0.99), (m["e"], m["f"], 0.99), (m["b"], m["e"], 0.99)],
           extra=[m["c"], m["d"], m["g"]], run_id="r3")
    _write(store, [(m["a"], m["b"], 0.99), (m["e"], m["f"], 0.99)], extra=[m["c"], m["d"], m["g"]], run_id="r4")
    everyone = [r["person_id"] for r in store.rows("SELECT person_id FROM persons ORDER BY 1")]
    merged = [r["person_id"] for r in store.rows("SELECT person_id FROM persons WHERE status = 'merged'")]
    assert len(merged) >= 2
    want = {p: _record_by_joins(store, p) for p in everyone}
    assert max(len(w["merged_ids"]) for w in want.values()) >= 2            # a chain: found through another
    assert max(len(w["history"]) for w in want.values()) >= 3
    for by_key in (20, 0):   # entries one by one, and the semi-join for many
        monkeypatch.setattr(identity, "_BY_KEY_HISTORY", by_key)
        got = {p: person_record(store, p) for p in everyone}
        assert {p: {k: r[k] for k in ("person_id", "merged_ids", "history")} for p, r in got.items()} == want
