"""One-to-one linking of two clean lists: each person at most once in each of two sources.

For two sources known to hold one record per person (FEBRL4's A and B; a hub's two registers),
``[linkage] one_to_one = ["a", "b"]`` (or ``intel link --one-to-one a,b``) replaces threshold
clustering between them by an assignment:

1. the scored links between the two sources, strongest first, are taken greedily: a link is
   accepted when neither record is matched yet and its probability is at least
   ``[linkage] one_to_one_threshold`` (mutual best matches; anonlink's greedy solver);
2. the records still unmatched on both sides are then compared all against all (the blocking
   rules are built for many sources and skip pairs whose names, dob and postcode are all
   corrupted) when there are at most ``one_to_one_residual_pairs`` such pairs, scored by the same
   model, and matched greedily in the same way; those scores are added to ``link_edges``;
3. no two records of one of the sources are ever one person (each record is its own id, held
   apart as trusted agency ids are).

The accepted links are kept in ``link_one_to_one``, so a decision made afterwards reclusters
with the same assignment; a later run in the default mode empties it (and is a full run).

The default stays dedupe-and-link: with no ``one_to_one`` sources nothing here runs.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from typing import Any

import polars as pl

from core.errors import IntelError
from core.store import Store
from linkage import features as F
from linkage.model import LinkageModel, linkage_config, open_linker

EDGE_SCHEMA = {"mention_a": pl.Utf8, "mention_b": pl.Utf8, "match_probability": pl.Float64}
LEFT, RIGHT = "_one_to_one_left", "_one_to_one_right"


def one_to_one_sources(config: dict[str, Any], override: Sequence[str] | None = None) -> tuple[str, str] | None:
    """The two sources to match one-to-one (``override`` first, then ``[linkage] one_to_one``);
    None for the default dedupe-and-link."""
    value = list(override) if override else list(config.get("linkage", {}).get("one_to_one", []) or [])
    if not value:
        return None
    if len(value) != 2 or len(set(value)) != 2 or not all(isinstance(v, str) and v.strip() for v in value):
        raise IntelError(f"one-to-one linking needs two different sources, e.g. police,health; got {value!r}")
    return value[0].strip(), value[1].strip()


def save(store: Store, accepted: pl.DataFrame, sources: tuple[str, str], run_id: str) -> None:
    """Keep the run's accepted links (``link_one_to_one``); call inside the run's transaction."""
    store.execute("DELETE FROM link_one_to_one")
    if accepted.height:
        store.insert_df("link_one_to_one", accepted.select(
            pl.lit(sources[0]).alias("source_a"), pl.lit(sources[1]).alias("source_b"),
            "mention_a", "mention_b", "match_probability", pl.lit(run_id).alias("run_id")))


def saved(store: Store) -> tuple[pl.DataFrame, tuple[str, str]] | None:
    """The last one-to-one run's accepted links and sources, or None (the default mode)."""
    rows = store.df("SELECT source_a, source_b, mention_a, mention_b, match_probability FROM link_one_to_one")
    if not rows.height:
        return None
    return rows.select(list(EDGE_SCHEMA)).cast(EDGE_SCHEMA), (rows["source_a"][0], rows["source_b"][0])


def check_sources(store: Store, sources: tuple[str, str]) -> None:
    """Refuse (IntelError, nothing written yet) a source with no records in the store."""
    present = {r[0] for r in store.df("SELECT DISTINCT source FROM mentions").rows()}
    missing = [s for s in sources if s not in present]
    if missing:
        raise IntelError(f"one-to-one linking: no records from source {missing[0]!r} "
                         f"(the store holds {', '.join(sorted(present)) or 'none'})")


def greedy(edges: pl.DataFrame, threshold: float, taken: set[str] | None = None) -> pl.DataFrame:
    """Accept links strongest first (ties by ids) while neither end is taken."""
    taken = set(taken or ())
    out = []
    ordered = edges.filter(pl.col("match_probability") >= threshold).sort(
        ["match_probability", "mention_a", "mention_b"], descending=[True, False, False])
    for a, b, p in ordered.select("mention_a", "mention_b", "match_probability").iter_rows():
        if a in taken or b in taken:
            continue
        taken.update((a, b))
        out.append((a, b, p))
    return pl.DataFrame(out, schema=EDGE_SCHEMA, orient="row")


def _cross_edges(store: Store, sources: tuple[str, str]) -> pl.DataFrame:
    return store.df(
        "SELECT e.mention_a, e.mention_b, e.match_probability::DOUBLE AS match_probability FROM link_edges e "
        "JOIN mentions a ON a.mention_id = e.mention_a JOIN mentions b ON b.mention_id = e.mention_b "
        "WHERE (a.source, b.source) IN ((?, ?), (?, ?))", [sources[0], sources[1], sources[1], sources[0]])


def _score_residual(store: Store, model: LinkageModel, left: list[str], right: list[str], floor: float) -> pl.DataFrame:
    """Every pair of ``left`` x ``right`` scored by the model (cartesian), at or above ``floor``."""
    settings = copy.deepcopy(model.settings)
    settings["blocking_rules_to_generate_predictions"] = [{"blocking_rule": "1=1", "sql_dialect": "duckdb"}]
    cartesian = copy.copy(model)
    cartesian.settings = settings
    F.build_features(store, F.FEATURES_TABLE)
    for name, ids in ((LEFT, left), (RIGHT, right)):
        F.ids_table(store, f"{name}_ids", ids)
        F.sql(store, f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {F.FEATURES_TABLE} "
                     f"SEMI JOIN {name}_ids USING (mention_id)")
    views: list[str] = []
    try:
        with open_linker(store, cartesian, build=False) as s:
            for tf_col in s.linker._settings_obj._term_frequency_columns:
                s.linker.table_management.compute_tf_table(tf_col.name)
            lv, rv = F.source_views(store, LEFT, all_sources=True), F.source_views(store, RIGHT, all_sources=True)
            views = list(lv.values()) + list(rv.values())
            left_in = [s.db_api.register(v, dataset_display_name=src, table_name=f"l_{src}") for src, v in lv.items()]
            right_in = [s.db_api.register(v, dataset_display_name=src, table_name=f"r_{src}") for src, v in rv.items()]
            pred = s.linker.inference.predict_between(left_in, right_in, threshold_match_probability=floor,
                                                      warning_mode="never")
            return store.df(
                f"SELECT least(mention_id_l, mention_id_r) AS mention_a, greatest(mention_id_l, mention_id_r) AS mention_b, "
                f"match_probability::DOUBLE AS match_probability, match_weight::DOUBLE AS match_weight "
                f"FROM {pred.physical_name}")
    finally:
        F.drop_temp(store, views + [LEFT, RIGHT, f"{LEFT}_ids", f"{RIGHT}_ids"])


def match(store: Store, model: LinkageModel, config: dict[str, Any], sources: tuple[str, str],
          score_residual: bool = True) -> tuple[pl.DataFrame, dict[str, Any]]:
    """The accepted one-to-one links (mention_a < mention_b, match_probability) and a report.
    Residual scores are written to ``link_edges`` (call inside the link run's transaction)."""
    cfg = linkage_config(config)
    threshold = float(cfg.get("one_to_one_threshold", 0.5))
    budget = int(cfg.get("one_to_one_residual_pairs", 5_000_000))
    t0 = time.perf_counter()
    first = greedy(_cross_edges(store, sources), threshold)
    taken = set(first["mention_a"].to_list()) | set(first["mention_b"].to_list())
    left = [r[0] for r in store.df("SELECT mention_id FROM mentions WHERE source = ? ORDER BY 1", [sources[0]]).rows()
            if r[0] not in taken]
    right = [r[0] for r in store.df("SELECT mention_id FROM mentions WHERE source = ? ORDER BY 1", [sources[1]]).rows()
             if r[0] not in taken]
    report = {"sources": list(sources), "threshold": threshold, "matched_from_blocking": first.height,
              "unmatched_left": len(left), "unmatched_right": len(right), "residual_pairs_scored": 0,
              "matched_from_residual": 0}
    second = pl.DataFrame(schema=EDGE_SCHEMA)
    if score_residual and left and right:
        if len(left) * len(right) > budget:
            report["residual_skipped"] = (f"{len(left)} x {len(right)} unmatched records is more than "
                                          f"[linkage] one_to_one_residual_pairs = {budget} pairs")
        else:
            scored = _score_residual(store, model, left, right, float(cfg["edge_floor"]))
            report["residual_pairs_scored"] = len(left) * len(right)
            if scored.height:
                store.register("_one_to_one_new", scored)
                try:
                    store.execute(
                        "INSERT INTO link_edges SELECT n.mention_a, n.mention_b, n.match_probability, n.match_weight, "
                        "?, now()::TIMESTAMP FROM _one_to_one_new n ANTI JOIN link_edges e USING (mention_a, mention_b)",
                        [model.model_id])
                finally:
                    store.unregister("_one_to_one_new")
            second = greedy(scored.select(list(EDGE_SCHEMA)), threshold, taken)
            report["matched_from_residual"] = second.height
    report["seconds"] = round(time.perf_counter() - t0, 3)
    return pl.concat([first, second]), report
