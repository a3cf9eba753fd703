"""Why the model scores a pair of mentions as it does: Splink's waterfall, as data and as a chart.

``explain_pair`` scores the two mentions with the saved model (Splink ``score_pair``, with
term frequencies over all mentions, exactly as scoring computes them) and returns the prior, each
comparison's level, values, m/u, Bayes factor and match weight, the term-frequency adjustment, and
the final weight and probability: prior + the comparisons' weights + TF adjustments = final weight.
With ``html_path`` it also writes Splink's waterfall chart as a self-contained HTML file (vega-lite
with the libraries inlined; Splink 5 writes it natively, Altair is not needed).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from splink.internals.charts import WaterfallChart
from splink.internals.waterfall_chart import records_to_waterfall_data

from core.errors import IntelError, NotFound
from core.store import Store
from linkage import features as F
from linkage.model import LinkageModel, latest_model, open_linker

LEFT, RIGHT = "_linkage_explain_a", "_linkage_explain_b"


def _num(x: Any) -> float | None:
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else x


def explain_pair(store: Store, mention_a: str, mention_b: str, html_path: Path | None = None,
                 model: LinkageModel | None = None) -> dict[str, Any]:
    """The match weight of each comparison and the final probability for one pair of mentions."""
    for mid in (mention_a, mention_b):
        if not F.sql(store, "SELECT 1 FROM mentions WHERE mention_id = ?", [mid]):
            raise NotFound(f"no mention {mid!r} in the store (mention ids are 'source:record_id')")
    if mention_a == mention_b:
        raise IntelError(f"explain needs two different mentions, got {mention_a!r} twice")
    if model is None:
        model = latest_model(store)
        if model is None:
            raise IntelError("no linkage model has been trained yet: run `intel link` first")
    F.build_features(store, LEFT, [mention_a])
    F.build_features(store, RIGHT, [mention_b])
    try:
        with open_linker(store, model) as s:
            left = s.db_api.register(LEFT, table_name="explain_left")
            right = s.db_api.register(RIGHT, table_name="explain_right")
            scored = s.linker.inference.score_pair(left, right, include_found_by_blocking_rules=True)
            record = scored.as_record_list()[0]
            waterfall = records_to_waterfall_data([record], s.linker._settings_obj, False)
            found = bool(record.get("match_key") is not None and record.get("found_by_blocking_rules"))
            if html_path is not None:
                html_path = Path(html_path)
                html_path.parent.mkdir(parents=True, exist_ok=True)
                html_path.write_text(WaterfallChart(waterfall, filter_nulls=False).to_html(inline=True),
                                     encoding="utf-8")
    finally:
        F.drop_temp(store, [LEFT, RIGHT])
    return _as_report(mention_a, mention_b, model, record, waterfall, found, html_path)


def _as_report(mention_a: str, mention_b: str, model: LinkageModel, record: dict[str, Any],
               waterfall: list[dict[str, Any]], found: bool, html_path: Path | None) -> dict[str, Any]:
    # score_pair puts the records in the order given; report a/b as asked.
    prior = waterfall[0]
    comparisons: dict[str, dict[str, Any]] = {}
    for row in waterfall[1:-1]:
        if row["term_frequency_adjustment"]:
            name = row["column_name"].removeprefix("tf_")
            comparisons[name]["tf_adjustment_weight"] = _num(row["log2_bayes_factor"]) or 0.0
            comparisons[name]["tf_adjustment_bayes_factor"] = _num(row["bayes_factor"])
            continue
        comparisons[row["column_name"]] = {
            "comparison": row["column_name"],
            "level": row["label_for_charts"],
            "gamma": row["comparison_vector_value"],
            "value_a": row["value_l"],
            "value_b": row["value_r"],
            "m_probability": _num(row["m_probability"]),
            "u_probability": _num(row["u_probability"]),
            "bayes_factor": _num(row["bayes_factor"]),
            "match_weight": _num(row["log2_bayes_factor"]) or 0.0,
            "tf_adjustment_weight": 0.0,
            "tf_adjustment_bayes_factor": None,
        }
    items = list(comparisons.values())
    prior_weight = _num(prior["log2_bayes_factor"])
    total = prior_weight + sum(c["match_weight"] + c["tf_adjustment_weight"] for c in items)
    return {
        "mention_a": mention_a,
        "mention_b": mention_b,
        "model_id": model.model_id,
        "prior": {"match_weight": prior_weight, "bayes_factor": _num(prior["bayes_factor"]),
                  "probability_two_random_records_match": model.settings.get("probability_two_random_records_match")},
        "comparisons": items,
        "sum_of_weights": total,
        "match_weight": _num(record["match_weight"]),
        "match_probability": _num(record["match_probability"]),
        "found_by_blocking_rules": found,
        "html": str(html_path) if html_path is not None else None,
    }
