"""Scoring: the trained model over the store's mentions, into ``link_edges``.

``score_all`` predicts over every mention (Splink ``predict`` with the model's blocking rules,
their pairs made as one union: linkage/blocked_pairs.py) and replaces ``link_edges``. ``score_mentions`` is the incremental twin: the given mentions are
scored against all the others (``predict_between``) and among themselves (``predict_within``),
with the same blocking rules and the same term-frequency tables (computed over all mentions), so a
pair gets the same probability either way (tests/linkage/test_scoring.py checks this).

Edges: ``mention_a < mention_b``, one row per pair, ``match_probability >= [linkage] edge_floor``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from core.errors import NotFound
from core.store import Store
from linkage import features as F
from linkage.blocked_pairs import linker_union_sql, register_for_predict, union_applies
from linkage.model import LinkageModel, SplinkSession, linkage_config, open_linker

NEW_TABLE = "linkage_features_new"
OLD_TABLE = "linkage_features_old"
KEYED_TABLE = "linkage_features_keyed"
PAIRS_TABLE = "linkage_blocked_pairs"
# Splink's unique key of a mention when each agency is its own input (source_dataset '-__-' id)
PAIR_KEY_SQL = "source || '-__-' || mention_id"


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _edges_select(physical_name: str, model_id: str, scored_at: datetime, floor: float) -> str:
    # Splink scores each pair once (a later blocking rule skips pairs an earlier one found), and
    # predict_between (old x new) and predict_within (new x new) are disjoint: no GROUP BY needed.
    return (
        f"SELECT least(mention_id_l, mention_id_r) AS mention_a, greatest(mention_id_l, mention_id_r) AS mention_b, "
        f"match_probability, match_weight, "
        f"'{model_id}' AS model_id, TIMESTAMP '{scored_at.isoformat(sep=' ')}' AS scored_at "
        f"FROM {physical_name} WHERE match_probability >= {float(floor)!r}"
    )


def score_all(store: Store, model: LinkageModel, config: dict[str, Any]) -> dict[str, Any]:
    """Predict over all mentions and replace ``link_edges`` with every pair at or above the floor."""
    floor = float(linkage_config(config)["edge_floor"])
    t0 = time.perf_counter()
    scored_at = _now()
    with open_linker(store, model) as s:
        t_feat = time.perf_counter() - t0
        t = time.perf_counter()
        try:
            blocked = _register_union_pairs(store, s)
            t_block = time.perf_counter() - t
            pred = s.linker.inference.predict(threshold_match_probability=floor, warning_mode="never")
        finally:
            F.drop_temp(store, [PAIRS_TABLE, KEYED_TABLE])
        t_pred = time.perf_counter() - t
        t = time.perf_counter()
        with store.transaction():
            F.sql(store, "DELETE FROM link_edges")
            F.sql(store, f"INSERT INTO link_edges {_edges_select(pred.physical_name, model.model_id, scored_at, floor)}")
        t_write = time.perf_counter() - t
        n_mentions = int(F.scalar(store, f"SELECT count(*) FROM {s.table}"))
    edges = int(F.scalar(store, "SELECT count(*) FROM link_edges"))
    return {
        "model_id": model.model_id, "mentions": n_mentions, "edges": edges, "edge_floor": floor,
        "scored_at": scored_at,
        "blocked_pairs": blocked,
        "seconds": {"features": round(t_feat, 3), "blocking": round(t_block, 3), "predict": round(t_pred, 3),
                    "write": round(t_write, 3), "total": round(time.perf_counter() - t0, 3)},
    }


def _register_union_pairs(store: Store, s: SplinkSession) -> str:
    """Make the blocked pairs as one union of the rules (linkage/blocked_pairs.py: Splink's own
    rule-by-rule exclusions cost 5x as much at 1M) and register them for the next predict.
    Returns how the pairs were made: "union", or "splink" where the union does not apply."""
    if not union_applies(s.linker):
        return "splink"
    # numbered in the keys' order: the pairs are deduplicated as numbers (blocked_pairs.py)
    F.sql(store, f"CREATE OR REPLACE TEMP TABLE {KEYED_TABLE} AS SELECT *, {PAIR_KEY_SQL} AS _pair_key, "
                 f"row_number() OVER (ORDER BY {PAIR_KEY_SQL}) AS _pair_id FROM {s.table}")
    F.sql(store, f"CREATE OR REPLACE TEMP TABLE {PAIRS_TABLE} AS "
                 f"{linker_union_sql(s.linker, KEYED_TABLE, '_pair_key', '_pair_id')}")
    F.drop_temp(store, [KEYED_TABLE])
    register_for_predict(s.linker, s.db_api.register(PAIRS_TABLE))
    return "union"


def score_mentions(store: Store, model: LinkageModel, mention_ids: Sequence[str],
                   config: dict[str, Any]) -> dict[str, Any]:
    """Re-score the given mentions: delete the edges touching them, then score them against all
    other mentions (``predict_between``) and among themselves (``predict_within``) and insert what
    is at or above the floor."""
    ids = sorted(set(mention_ids))
    floor = float(linkage_config(config)["edge_floor"])
    t0 = time.perf_counter()
    scored_at = _now()
    if not ids:
        return {"model_id": model.model_id, "mentions": 0, "edges": 0, "edge_floor": floor,
                "scored_at": scored_at, "seconds": {"total": 0.0}}
    F.ids_table(store, "_linkage_ids_t", ids)
    missing = F.sql(store, "SELECT i.mention_id FROM _linkage_ids_t i ANTI JOIN mentions m "
                    "USING (mention_id) ORDER BY 1 LIMIT 5")
    if missing:
        F.drop_temp(store, ["_linkage_ids_t"])
        raise NotFound("no such mention(s): " + ", ".join(r[0] for r in missing))
    F.build_features(store, F.FEATURES_TABLE)
    F.sql(store, f"CREATE OR REPLACE TEMP TABLE {NEW_TABLE} AS SELECT * FROM {F.FEATURES_TABLE} "
                  "SEMI JOIN _linkage_ids_t USING (mention_id)")
    F.sql(store, f"CREATE OR REPLACE TEMP TABLE {OLD_TABLE} AS SELECT * FROM {F.FEATURES_TABLE} "
                  "ANTI JOIN _linkage_ids_t USING (mention_id)")
    t_feat = time.perf_counter() - t0
    temp_views: list[str] = []
    with open_linker(store, model, build=False) as s:
        try:
            t = time.perf_counter()
            # Term frequencies over ALL mentions, exactly as predict() in score_all computes them.
            for tf_col in s.linker._settings_obj._term_frequency_columns:
                s.linker.table_management.compute_tf_table(tf_col.name)
            t_tf = time.perf_counter() - t
            new_views = F.source_views(store, NEW_TABLE, all_sources=True)
            old_views = F.source_views(store, OLD_TABLE, all_sources=True)
            temp_views = list(new_views.values()) + list(old_views.values())
            # the same display names as the full inputs, so source_dataset values agree
            new_in = [s.db_api.register(v, dataset_display_name=src, table_name=f"new_{src}")
                      for src, v in new_views.items()]
            old_in = [s.db_api.register(v, dataset_display_name=src, table_name=f"old_{src}")
                      for src, v in old_views.items()]
            t = time.perf_counter()
            parts = []
            if old_in:
                parts.append(s.linker.inference.predict_between(
                    old_in, new_in, threshold_match_probability=floor, warning_mode="never"))
            parts.append(s.linker.inference.predict_within(
                new_in, threshold_match_probability=floor, warning_mode="never"))
            t_pred = time.perf_counter() - t
            t = time.perf_counter()
            with store.transaction():
                F.sql(store, "DELETE FROM link_edges WHERE mention_a IN (SELECT mention_id FROM _linkage_ids_t) "
                              "OR mention_b IN (SELECT mention_id FROM _linkage_ids_t)")
                union = " UNION ALL ".join(f"SELECT mention_id_l, mention_id_r, match_probability, match_weight "
                                           f"FROM {p.physical_name}" for p in parts)
                F.sql(store, "CREATE OR REPLACE TEMP VIEW _linkage_new_pred AS " + union)
                F.sql(store, f"INSERT INTO link_edges "
                              f"{_edges_select('_linkage_new_pred', model.model_id, scored_at, floor)}")
            t_write = time.perf_counter() - t
            edges = int(F.scalar(store, 
                "SELECT count(*) FROM link_edges WHERE mention_a IN (SELECT mention_id FROM _linkage_ids_t) "
                "OR mention_b IN (SELECT mention_id FROM _linkage_ids_t)"))
        finally:
            F.sql(store, "DROP VIEW IF EXISTS _linkage_new_pred")
            F.drop_temp(store, temp_views + [NEW_TABLE, OLD_TABLE, "_linkage_ids_t"])
    return {
        "model_id": model.model_id, "mentions": len(ids), "edges": edges, "edge_floor": floor,
        "scored_at": scored_at,
        "seconds": {"features": round(t_feat, 3), "term_frequencies": round(t_tf, 3), "predict": round(t_pred, 3),
                    "write": round(t_write, 3), "total": round(time.perf_counter() - t0, 3)},
    }


__all__ = ["score_all", "score_mentions", "SplinkSession"]
