"""How good is the linkage against a ground truth: pairwise and B-cubed precision, recall, F1.

Set-based, never enumerating pairs: a cluster of n mentions holds n(n-1)/2 pairs, and the true
positives come from the contingency table of (predicted cluster, true cluster) counts:
TP = sum over cells of c(c-1)/2. B-cubed (per mention, averaged): precision = sum c^2/|pred| / N,
recall = sum c^2/|true| / N over the same cells.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from core.errors import IntelError
from core.store import Store
from linkage.cannot_link import cannot_link_pairs
from linkage.generations import cluster_apart_generations
from linkage.export import persons_frame
from linkage.agency_ids import agency_id_links
from linkage.run import decision_pairs, review_threshold, strong_edges, trusted_refs, unlinkable_mentions

TRUTH_COLUMNS = ("source", "record_id", "person")


def _ratio(num: float, den: float) -> float:
    return 1.0 if den == 0 else num / den


def _f1(p: float, r: float) -> float:
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def evaluate_frames(predicted: pl.DataFrame, truth: pl.DataFrame) -> dict[str, Any]:
    """Compare ``predicted`` (source, record_id, person_id) with ``truth`` (source, record_id,
    person) over the mentions present in both. Pure. Precision (recall) is 1.0 when nothing was
    predicted (true) to pair up."""
    pred = predicted.select(pl.col("source").cast(pl.Utf8), pl.col("record_id").cast(pl.Utf8),
                            pl.col("person_id").cast(pl.Utf8).alias("pred")).unique(["source", "record_id"])
    true = truth.select(pl.col("source").cast(pl.Utf8), pl.col("record_id").cast(pl.Utf8),
                        pl.col("person").cast(pl.Utf8).alias("true")).unique(["source", "record_id"])
    both = pred.join(true, on=["source", "record_id"], how="inner")
    n = both.height
    pred_size = both.group_by("pred").len(name="np")
    true_size = both.group_by("true").len(name="nt")
    cells = (both.group_by("pred", "true").len(name="c")
             .join(pred_size, on="pred").join(true_size, on="true")
             .with_columns(pl.col("c").cast(pl.Float64), pl.col("np").cast(pl.Float64), pl.col("nt").cast(pl.Float64)))

    def pairs(col: pl.Expr) -> pl.Expr:
        return (col * (col - 1) / 2).sum()

    tp = float(cells.select(pairs(pl.col("c"))).item() or 0)
    pred_pairs = float(pred_size.select(pairs(pl.col("np").cast(pl.Float64))).item() or 0)
    true_pairs = float(true_size.select(pairs(pl.col("nt").cast(pl.Float64))).item() or 0)
    p, r = _ratio(tp, pred_pairs), _ratio(tp, true_pairs)
    if n:
        b3 = cells.select((pl.col("c") ** 2 / pl.col("np")).sum().alias("p"),
                          (pl.col("c") ** 2 / pl.col("nt")).sum().alias("r")).row(0)
        bp, br = b3[0] / n, b3[1] / n
    else:
        bp = br = 1.0
    return {
        "mentions_compared": n,
        "predicted_only": pred.height - n,
        "truth_only": true.height - n,
        "predicted_persons": pred_size.height,
        "true_persons": true_size.height,
        "pairwise": {
            "true_positive_pairs": int(tp),
            "predicted_pairs": int(pred_pairs),
            "true_pairs": int(true_pairs),
            "precision": p,
            "recall": r,
            "f1": _f1(p, r),
        },
        "bcubed": {"precision": bp, "recall": br, "f1": _f1(bp, br)},
    }


def read_truth(path: str | Path) -> pl.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise IntelError(f"truth file {path} does not exist")
    try:
        truth = pl.read_csv(path, infer_schema=False)
    except (pl.exceptions.PolarsError, UnicodeDecodeError) as exc:
        raise IntelError(f"truth file {path} is not a readable CSV: {exc}") from exc
    missing = [c for c in TRUTH_COLUMNS if c not in truth.columns]
    if missing:
        raise IntelError(f"truth file {path} lacks the column(s) {', '.join(missing)}; it needs "
                         f"{', '.join(TRUTH_COLUMNS)} (has {', '.join(truth.columns) or 'none'})")
    nulls = truth.select(TRUTH_COLUMNS).null_count().row(0)
    if any(nulls):
        bad = [c for c, k in zip(TRUTH_COLUMNS, nulls) if k]
        raise IntelError(f"truth file {path} has empty values in {', '.join(bad)}")
    return truth


def evaluate(store: Store, truth_path: str | Path, sweep: list[float] | None = None,
             config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Evaluate the store's current persons against a truth CSV (source, record_id, person);
    with ``sweep``, also what each of those thresholds would give (clustered under ``config``,
    which a sweep needs)."""
    truth = read_truth(truth_path)
    report = {"truth": str(truth_path), **evaluate_frames(persons_frame(store), truth)}
    if sweep:
        bad = [t for t in sweep if not 0.0 < t <= 1.0]
        if bad:
            raise IntelError(f"--sweep thresholds must be in (0, 1], got {bad}")
        if config is None:
            raise IntelError("internal: a threshold sweep needs the configuration (trusted ids, cannot-link)")
        report["sweep"] = sweep_thresholds(store, truth, sweep, config)
    return report


def sweep_thresholds(store: Store, truth: pl.DataFrame, thresholds: list[float],
                     config: dict[str, Any]) -> list[dict[str, Any]]:
    """Cluster every mention at each threshold (same links, decisions, trusted ids and cannot-link
    pairs as a link run under ``config``, nothing written) and evaluate each against ``truth``:
    how the threshold was chosen."""
    if not thresholds:
        return []
    mentions = store.df("SELECT mention_id, source, record_id FROM mentions")
    model, ties = strong_edges(store, min(thresholds)), agency_id_links(store, config)
    same, different = decision_pairs(store)
    unlinkable = unlinkable_mentions(store)
    refs = trusted_refs(store, config)
    apart = cannot_link_pairs(store, config)
    out = []
    for t in sorted(thresholds):
        c = cluster_apart_generations(store, mentions["mention_id"].to_list(), model, ties, t, review_threshold(config),
                                      same=same, different=different, exclude_from_links=unlinkable,
                                      trusted_refs=refs, cannot_link=apart)
        pred = mentions.join(c.frame().select("mention_id", pl.col("cluster").alias("person_id")), on="mention_id")
        r = evaluate_frames(pred, truth)
        out.append({"threshold": t, "persons": r["predicted_persons"], "pairwise": r["pairwise"],
                    "bcubed": r["bcubed"]})
    return out
