"""Scoring into link_edges: the full run and the incremental run agree."""

from __future__ import annotations

import pytest

from core.config import load_config
from core.errors import NotFound
from linkage.model import latest_model, linkage_config
from linkage.scoring import score_all, score_mentions

EDGES = "SELECT mention_a, mention_b, match_probability, match_weight, model_id FROM link_edges"


def _edges_touching(store, ids):
    rows = store.rows(EDGES + " WHERE list_contains(?::VARCHAR[], mention_a) OR list_contains(?::VARCHAR[], mention_b)",
                      [ids, ids])
    return {(r["mention_a"], r["mention_b"]): r for r in rows}


def test_score_all_writes_ordered_unique_edges_above_the_floor(tstore):
    model = latest_model(tstore)
    report = score_all(tstore, model, load_config())
    floor = linkage_config(load_config())["edge_floor"]
    assert report["edges"] > 0 and report["mentions"] == tstore.rows("SELECT count(*) AS n FROM mentions")[0]["n"]
    stats = tstore.rows("SELECT count(*) AS n, count(DISTINCT (mention_a, mention_b)) AS pairs, "
                        "bool_and(mention_a < mention_b) AS ordered, min(match_probability) AS lo, "
                        "count(DISTINCT model_id) AS models, max(model_id) AS model_id FROM link_edges")[0]
    assert stats["n"] == stats["pairs"] == report["edges"]
    assert stats["ordered"] and stats["lo"] >= floor
    assert stats["models"] == 1 and stats["model_id"] == model.model_id
    # replacing: a second run gives the same edges, not twice as many
    assert score_all(tstore, model, load_config())["edges"] == report["edges"]
    # Splink's working tables do not stay in the store
    assert not [t for t in tstore.tables() if t.startswith("__splink")]


def test_score_mentions_gives_the_same_edges_as_score_all(tstore):
    model = latest_model(tstore)
    score_all(tstore, model, load_config())
    ids = [r["mention_id"] for r in tstore.rows(
        "SELECT mention_id FROM mentions ORDER BY hash(mention_id) LIMIT 150")]
    ids += ["police:T1", "health:T2", "social_care:T3", "health:T4"]   # new among themselves, too
    full = _edges_touching(tstore, ids)
    total = tstore.rows("SELECT count(*) AS n FROM link_edges")[0]["n"]
    # forget these mentions' edges, as if they had just arrived, then score them incrementally
    tstore.execute("DELETE FROM link_edges WHERE list_contains(?::VARCHAR[], mention_a) "
                   "OR list_contains(?::VARCHAR[], mention_b)", [ids, ids])
    report = score_mentions(tstore, model, ids, load_config())
    inc = _edges_touching(tstore, ids)
    assert len(full) > 150 and report["edges"] == len(inc)
    assert set(inc) == set(full)
    worst = max(abs(inc[k]["match_weight"] - full[k]["match_weight"]) for k in full)
    assert worst < 1e-9
    assert tstore.rows("SELECT count(*) AS n FROM link_edges")[0]["n"] == total
    assert not [t for t in tstore.tables() if t.startswith("__splink")]


def test_score_mentions_unknown_id_is_not_found_and_changes_nothing(tstore):
    model = latest_model(tstore)
    before = tstore.content_digest()
    with pytest.raises(NotFound, match="police:NOPE"):
        score_mentions(tstore, model, ["police:T1", "police:NOPE"], load_config())
    tstore.rows("SELECT 1")
    assert tstore.content_digest() == before
