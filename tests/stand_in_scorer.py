"""One transparent stand-in for the Splink scorer, shared by the tests that need links whose
probabilities are known (the identity layer, the API's world). It has the scoring interface
``linkage.run.link(engine=...)`` takes: ``load_or_train``, ``score_all`` and ``score_mentions``.

A pair's probability is set by how many of forename, surname, dob and (same source) person_ref
agree: four -> ``four``, three -> ``three``, two -> ``two`` (0.6), fewer -> 0.01; pairs under 0.5 are not
kept, as the real scorer keeps only edges over its floor. The Splink model itself is exercised
by tests/linkage/test_model.py and test_run_with_model.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import polars as pl

from core.store import Store

_PAIR_SQL = """
SELECT a.mention_id AS mention_a, b.mention_id AS mention_b,
  CASE (a.forename = b.forename)::INT + (a.surname = b.surname)::INT + (a.dob = b.dob)::INT
       + (a.source = b.source AND a.person_ref = b.person_ref)::INT
    WHEN 4 THEN {four} WHEN 3 THEN {three} WHEN 2 THEN {two} ELSE 0.01 END AS match_probability,
  0.0 AS match_weight, 'rules' AS model_id, now()::TIMESTAMP AS scored_at
FROM mentions a JOIN mentions b ON a.mention_id < b.mention_id WHERE {where}
"""


def rules_engine(*, four: float = 0.999, three: float = 0.98, two: float = 0.6) -> SimpleNamespace:
    """The stand-in scorer with these probabilities for four and three agreeing fields."""

    def pairs(where: str) -> str:
        return ("INSERT INTO link_edges SELECT * FROM ("
                + _PAIR_SQL.format(four=four, three=three, two=two, where=where) + ") WHERE match_probability >= 0.5")

    def score_all(store: Store, model: Any, config: Any = None) -> dict:
        store.execute("DELETE FROM link_edges")
        store.execute(pairs("true"))
        return {"edges": store.rows("SELECT count(*) AS n FROM link_edges")[0]["n"]}

    def score_mentions(store: Store, model: Any, ids: list[str], config: Any = None) -> dict:
        store.register("_ids", pl.DataFrame({"m": ids}))
        try:
            store.execute("DELETE FROM link_edges WHERE mention_a IN (SELECT m FROM _ids) "
                          "OR mention_b IN (SELECT m FROM _ids)")
            store.execute(pairs("(a.mention_id IN (SELECT m FROM _ids) OR b.mention_id IN (SELECT m FROM _ids))"))
        finally:
            store.unregister("_ids")
        return {"mentions": len(ids)}

    return SimpleNamespace(load_or_train=lambda store, config, retrain=False: SimpleNamespace(model_id="rules"),
                           score_all=score_all, score_mentions=score_mentions)
