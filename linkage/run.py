"""The link run: score mentions, cluster them into persons, keep person ids stable.

``link(store)`` on a store never linked, with ``retrain`` or with ``full`` scores every pair
(``linkage.scoring.score_all``) and reclusters everything. Otherwise it is incremental: only the
mentions that are new or were re-sent since they were last linked (``mentions.version`` against
``linked_mentions.version``) are scored against everything (``score_mentions``), and only the
components they touch are reclustered: the connected component, over links at or above the
threshold, 'same' decisions and current person membership, of the new and changed mentions and
of the mentions their old links reached. Clustering decomposes over those components
(linkage/clusters.py), so given the same links an incremental run gives exactly the persons a
full run would.

Given the same links, incremental equals full exactly (tests/linkage/test_run.py, with a scorer
whose probabilities do not depend on the other mentions). With the Splink model they can differ
in one documented way: its term-frequency tables move as mentions arrive, and an incremental run
rescores only the pairs touching new and changed mentions, so a link between two unchanged
mentions keeps the probability it had when it was scored. Measured on a generated world
(150 households, seed 5, 30 nightly drops linked every 10 drops, 3,153 mentions, model of commit
1c69da3): 7,339 of 12,756 links differed from a full rescoring by at most 0.029, 9 of them on
the other side of the 0.999 threshold, and the persons differed by one merge (479 persons
incremental, 478 after `intel link --full`). A periodic `--full` run realigns them; the ids
stay stable through it.

All writes of one run happen in one ``store.transaction()``: a crash leaves the previous state.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import polars as pl

from core.errors import IntelError
from core.store import Store
from core.store_mode import is_encoded
from linkage import encoded
from linkage import model as _model, scoring as _scoring
from linkage import one_to_one as _one_to_one
from linkage.agency_ids import agency_id_links
from linkage.cannot_link import cannot_link_pairs
from linkage.clusters import components
from linkage.generations import cluster_apart_generations
from linkage.identity import scalar
from linkage.identity import write_identity

UNLINKABLE_LIST_LIMIT = 100

# fewer than two of these identifiers: the model may not tie the mention to anyone
_IDENTIFIER_COUNT = (
    "((nullif(trim(forename), '') IS NOT NULL)::INT + (nullif(trim(surname), '') IS NOT NULL)::INT"
    " + (dob IS NOT NULL)::INT + (nullif(trim(person_ref), '') IS NOT NULL)::INT)"
)


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def identity_threshold(config: dict[str, Any]) -> float:
    value = config.get("identity", {}).get("threshold")
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0.0 < float(value) <= 1.0:
        raise IntelError(f"config [identity] threshold must be a number in (0, 1], got {value!r}")
    return float(value)


def review_threshold(config: dict[str, Any]) -> float:
    """``[identity] review_threshold``, checked against the identity threshold."""
    value = config.get("identity", {}).get("review_threshold")
    upper = identity_threshold(config)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0.0 < float(value) <= upper:
        raise IntelError(f"config [identity] review_threshold must be a number in (0, {upper}] "
                         f"(the identity threshold), got {value!r}")
    return float(value)


# -- reading the clustering inputs -------------------------------------------------------------

def _has_edges(store: Store) -> bool:
    return "link_edges" in store.tables()


def strong_edges(store: Store, threshold: float) -> pl.DataFrame:
    """Every link at or above the threshold: mention_a, mention_b, match_probability."""
    if not _has_edges(store):
        return pl.DataFrame(schema={"mention_a": pl.Utf8, "mention_b": pl.Utf8, "match_probability": pl.Float64})
    return store.df("SELECT mention_a, mention_b, match_probability::DOUBLE AS match_probability "
                    "FROM link_edges WHERE match_probability >= ?", [threshold])


def decision_pairs(store: Store) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    rows = store.rows("SELECT mention_a, mention_b, decision FROM link_decisions ORDER BY decision_id")
    same = [(r["mention_a"], r["mention_b"]) for r in rows if r["decision"] == "same"]
    different = [(r["mention_a"], r["mention_b"]) for r in rows if r["decision"] == "different"]
    return same, different


def unlinkable_mentions(store: Store) -> list[str]:
    if is_encoded(store):
        return [r[0] for r in store.connection.execute(encoded.UNLINKABLE_SQL).fetchall()]
    return [r[0] for r in store.df(
        f"SELECT mention_id FROM mentions WHERE {_IDENTIFIER_COUNT} < 2 ORDER BY mention_id").rows()]


def closure(store: Store, seeds: Iterable[str], edges: pl.DataFrame, same: list[tuple[str, str]],
            unlinkable: set[str]) -> set[str]:
    """The seeds plus everything connected to them by a strong link (between linkable mentions),
    a 'same' decision or membership of one current person."""
    seeds = set(seeds)
    pairs: list[tuple[str, str]] = [
        (a, b) for a, b in edges.select("mention_a", "mention_b").rows()
        if a not in unlinkable and b not in unlinkable]
    pairs += same
    members = store.df("SELECT person_id, mention_id FROM person_mentions ORDER BY person_id, mention_id")
    for group in members.group_by("person_id", maintain_order=True).agg(pl.col("mention_id")).rows():
        first = group[1][0]
        pairs += [(first, m) for m in group[1][1:]]
    roots = components(pairs)
    wanted = {roots.get(s, s) for s in seeds}
    return seeds | {m for m, r in roots.items() if r in wanted}


def trusted_refs(store: Store, config: dict[str, Any],
                 scope: Iterable[str] | None = None) -> dict[str, tuple[str, str]]:
    """mention id -> (source, person_ref) for the agencies whose own ids are trusted within the
    agency (config [identity] trusted_ref_sources; the contract says person_ref is trustworthy
    within one source, but police nominals are duplicated for some people). ``scope``: only
    these mentions (an incremental run reclusters a few components, not the population)."""
    sources = list(config.get("identity", {}).get("trusted_ref_sources", []))
    if not sources:
        return {}
    where = "person_ref IS NOT NULL AND list_contains(?::VARCHAR[], source)"
    if scope is None:
        frame = store.df(f"SELECT mention_id, source, person_ref FROM mentions WHERE {where}", [sources])
    else:
        store.register("_trusted_scope", pl.DataFrame({"mention_id": sorted(scope)}, schema={"mention_id": pl.Utf8}))
        try:
            frame = store.df(f"SELECT m.mention_id, m.source, m.person_ref FROM mentions m "
                             f"SEMI JOIN _trusted_scope USING (mention_id) WHERE {where}", [sources])
        finally:
            store.unregister("_trusted_scope")
    return {m: (s, r) for m, s, r in frame.iter_rows()}


def recluster(
    store: Store,
    seeds: Iterable[str] | None,
    *,
    threshold: float,
    now: datetime,
    run_id: str | None = None,
    decided_by: str | None = None,
    reason: str | None = None,
    config: dict[str, Any],
    one_to_one: tuple[pl.DataFrame, tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """Recluster the components around ``seeds`` (None: every mention) and write their persons.
    ``one_to_one``: (accepted links, the two sources) of linkage/one_to_one.py: links between or
    within those sources are replaced by the accepted ones, and no two records of one of them
    share a person.
    ``config``: the run's configuration (the hub's file), for the trusted agency ids and the
    cannot-link kinds.
    The records one agency files under one of its ids enter as one unit (linkage/agency_ids.py).
    Call inside ``store.transaction()``."""
    model, ties = strong_edges(store, threshold), agency_id_links(store, config)
    same, different = decision_pairs(store)
    unlinkable = set(unlinkable_mentions(store))
    all_ids = [r[0] for r in store.df("SELECT mention_id FROM mentions").rows()]
    if seeds is None:
        scope = set(all_ids)
    else:
        scope = closure(store, seeds, pl.concat([model, ties.cast(model.schema)]), same, unlinkable) & set(all_ids)
    narrowed = None if seeds is None else scope
    refs = trusted_refs(store, config, scope=narrowed)
    link_threshold = threshold
    if one_to_one is None:   # a decision after a one-to-one run keeps its assignment
        one_to_one = _one_to_one.saved(store)
    if one_to_one is not None:
        accepted, sources = one_to_one
        listed = dict(store.df("SELECT mention_id, source FROM mentions WHERE source IN (?, ?)", list(sources)).rows())
        inside = pl.Series(list(listed), dtype=pl.Utf8)
        between = pl.col("mention_a").is_in(inside.implode()) & pl.col("mention_b").is_in(inside.implode())
        model = pl.concat([model.filter(~between), accepted.select(model.columns).cast(model.schema)])
        ties = ties.filter(~between)
        refs.update({m: (src, f"one-to-one:{m}") for m, src in listed.items()})
        link_threshold = min(threshold, float(accepted["match_probability"].min() or threshold))
    # how strong a link to the other generation makes an undated record ambiguous: the review
    # band's floor (its links go to the queue), the identity threshold where no band is configured
    reach = review_threshold(config) if "review_threshold" in config.get("identity", {}) else threshold
    clustering = cluster_apart_generations(store, scope, model, ties, link_threshold, reach,
                                           same=same, different=different, exclude_from_links=unlinkable,
                                           trusted_refs=refs, cannot_link=cannot_link_pairs(store, config, scope=narrowed))
    written = write_identity(store, clustering, now=now, run_id=run_id, decided_by=decided_by, reason=reason)
    in_scope_unlinkable = sorted(unlinkable & scope)
    return {
        "clusters_touched": len(set(clustering.cluster_of.values())),
        "links_blocked_by_decisions": len(clustering.blocked),
        "links_blocked_by_agency_ids": len(clustering.blocked_by_refs),
        "links_blocked_by_cannot_link": len(clustering.blocked_by_cannot_link),
        "mentions_contested": len(clustering.contested),
        "same_decisions_not_held": [list(p) for p in clustering.conflicting_same],
        "unlinkable_mentions": len(in_scope_unlinkable),
        "unlinkable_mention_ids": in_scope_unlinkable[:UNLINKABLE_LIST_LIMIT],
        **written,
    }


# -- the run -----------------------------------------------------------------------------------

def _changed_mentions(store: Store) -> pl.DataFrame:
    return store.df(
        "SELECT m.mention_id, m.version FROM mentions m LEFT JOIN linked_mentions l USING (mention_id) "
        "WHERE l.mention_id IS NULL OR l.version <> m.version ORDER BY m.mention_id")


def link(
    store: Store,
    *,
    retrain: bool = False,
    full: bool = False,
    run_id: str | None = None,
    config: dict[str, Any],
    engine: Any = None,
    one_to_one: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Link every mention into persons; incremental unless first run, ``retrain`` or ``full``.
    Returns a JSON-able report. ``config``: the run's configuration (the hub's file over the
    shipped defaults, loaded by the caller); its ``[linkage]`` settings reach the model when one
    is trained and the scoring, its ``[identity]`` ones the clustering. ``engine``: anything with
    ``load_or_train(store, config, retrain=)``, ``score_all(store, model, config)`` and
    ``score_mentions(store, model, ids, config)`` (default: linkage.model and linkage.scoring, the
    Splink model). ``one_to_one``: two sources to match one-to-one (linkage/one_to_one.py; default
    ``[linkage] one_to_one``, empty: dedupe-and-link); such a run is always full."""
    if engine is None:
        load_or_train, score_all, score_mentions = _model.load_or_train, _scoring.score_all, _scoring.score_mentions
    else:
        load_or_train, score_all, score_mentions = engine.load_or_train, engine.score_all, engine.score_mentions

    threshold = identity_threshold(config)
    pair_sources = _one_to_one.one_to_one_sources(config, one_to_one)
    started = utc_now()
    run_id = run_id or f"link-{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    if scalar(store, "SELECT count(*) FROM link_runs WHERE run_id = ?", [run_id]):
        raise IntelError(f"link run {run_id!r} already exists; give a new run id")
    timings: dict[str, float] = {}
    t = time.perf_counter()
    with store.transaction():
        if pair_sources is not None:
            _one_to_one.check_sources(store, pair_sources)
        model = load_or_train(store, config, retrain=retrain)
        model_id = getattr(model, "model_id", None)
        timings["model_s"] = round(time.perf_counter() - t, 3)
        last_model = scalar(store, "SELECT model_id FROM link_runs ORDER BY finished_at DESC, run_id DESC LIMIT 1")
        never_linked = scalar(store, "SELECT count(*) FROM linked_mentions") == 0
        was_one_to_one = _one_to_one.saved(store) is not None
        reasons = [r for r, on in (("--full", full), ("--retrain", retrain), ("first run", never_linked),
                                   ("one-to-one", pair_sources is not None),
                                   ("one-to-one off", pair_sources is None and was_one_to_one),
                                   ("model changed", not never_linked and last_model != model_id)) if on]
        mode = "full" if reasons else "incremental"
        changed = _changed_mentions(store)
        changed_ids = changed["mention_id"].to_list()

        t = time.perf_counter()
        if mode == "full":
            scoring_report = score_all(store, model, config)
            seeds = None
            scored = scalar(store, "SELECT count(*) FROM mentions")
        elif changed_ids:
            before = strong_edges(store, threshold)
            ids = set(changed_ids)
            old_neighbours = {b for a, b in before.select("mention_a", "mention_b").rows() if a in ids} | {
                a for a, b in before.select("mention_a", "mention_b").rows() if b in ids}
            scoring_report = score_mentions(store, model, changed_ids, config)
            seeds = ids | old_neighbours
            scored = len(changed_ids)
        else:
            scoring_report, seeds, scored = {}, set(), 0
        timings["scoring_s"] = round(time.perf_counter() - t, 3)

        matched = None
        if pair_sources is not None:
            t = time.perf_counter()
            # the residual pass scores with the Splink model; a stand-in engine has only its own links
            accepted, scoring_report["one_to_one"] = _one_to_one.match(store, model, config, pair_sources,
                                                                       score_residual=engine is None or getattr(engine, "scores_with_the_model", False))
            matched = (accepted, pair_sources)
            _one_to_one.save(store, accepted, pair_sources, run_id)
            timings["one_to_one_s"] = round(time.perf_counter() - t, 3)
        elif was_one_to_one:
            store.execute("DELETE FROM link_one_to_one")

        t = time.perf_counter()
        why = f"link run ({mode}: {', '.join(reasons)})" if reasons else "link run (incremental)"
        clustered = recluster(store, seeds, threshold=threshold, now=started, run_id=run_id, reason=why,
                              config=config, one_to_one=matched)
        timings["clustering_s"] = round(time.perf_counter() - t, 3)

        stamp = pl.DataFrame({"mention_id": changed_ids, "version": changed["version"].to_list()},
                             schema={"mention_id": pl.Utf8, "version": pl.Int32})
        store.register("_stamp", stamp)
        try:
            store.execute("DELETE FROM linked_mentions WHERE mention_id IN (SELECT mention_id FROM _stamp)")
            store.execute("INSERT INTO linked_mentions SELECT mention_id, version, ?, ? FROM _stamp",
                          [run_id, started])
        finally:
            store.unregister("_stamp")

        edges_total = scalar(store, "SELECT count(*) FROM link_edges") if _has_edges(store) else 0
        report = {
            "run_id": run_id,
            "mode": mode,
            "full_because": reasons,
            "model_id": model_id,
            "threshold": threshold,
            "mentions_total": scalar(store, "SELECT count(*) FROM mentions"),
            "mentions_new_or_changed": len(changed_ids),
            "mentions_scored": scored,
            "edges_total": edges_total,
            "edges_at_or_above_threshold": scalar(store, 
                "SELECT count(*) FROM link_edges WHERE match_probability >= ?", [threshold]) if _has_edges(store) else 0,
            "scoring": scoring_report,
            **clustered,
            "persons_active": scalar(store, "SELECT count(*) FROM persons WHERE status = 'active'"),
        }
        report["timings"] = {**timings, "total_s": round(sum(timings.values()), 3)}
        store.execute("INSERT INTO link_runs VALUES (?, ?, ?, ?, ?, ?, ?)",
                      [run_id, mode, started, utc_now(), threshold, model_id,
                       json.dumps(report, default=str)])
    return report
