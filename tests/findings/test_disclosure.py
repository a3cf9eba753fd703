"""Small-count suppression: primary, complement, sums, secondary and derived cells."""

from __future__ import annotations

from findings.disclosure import suppress
from findings.metric_table import COUNT, Column, MetricTable


def _breakdown(values: dict[str, int]) -> MetricTable:
    rows = [{"period": "2026-01", "cat": k, "n": v} for k, v in values.items()]
    rows.append({"period": "2026-01", "cat": "all", "n": sum(values.values())})
    return MetricTable("b", "S", "t", "d", [Column("period", "P", "period"), Column("cat", "C", "dim"),
                                            Column("n", "N", COUNT)], rows, category="cat")


def _shown(t: MetricTable) -> dict[str, int | None]:
    return {r["cat"]: r["n"] for r in t.rows}


def test_small_counts_go_and_zero_stays() -> None:
    t = _breakdown({"a": 3, "b": 0, "c": 40, "d": 7, "e": 2})
    suppress([t], 5)
    # a and e are small; two hidden cells cannot be told apart from the total, so no secondary one
    assert _shown(t) == {"a": None, "b": 0, "c": 40, "d": 7, "e": None, "all": 52}
    assert t.rows[0]["suppressed"] == ["n"] and t.rows[1]["suppressed"] == []


def test_one_hidden_cell_takes_the_next_smallest_with_it() -> None:
    t = _breakdown({"a": 3, "b": 0, "c": 40, "d": 7})
    suppress([t], 5)
    assert _shown(t) == {"a": None, "b": 0, "c": 40, "d": None, "all": 50}


def test_one_hidden_cell_and_only_zeros_beside_it_hides_the_total() -> None:
    t = _breakdown({"a": 3, "b": 0})
    suppress([t], 5)
    assert _shown(t) == {"a": None, "b": 0, "all": None}


def test_threshold_one_suppresses_nothing() -> None:
    t = _breakdown({"a": 1, "b": 2})
    suppress([t], 1)
    assert _shown(t) == {"a": 1, "b": 2, "all": 3}


def _rates(part: int, whole: int) -> MetricTable:
    return MetricTable("r", "S", "t", "d", [Column("period", "P", "period"), Column("part", "p", COUNT),
                                            Column("whole", "w", COUNT), Column("share", "s", "share"),
                                            Column("median", "m", "hours")],
                       [{"period": "2026-01", "part": part, "whole": whole, "share": part / whole, "median": 3.0}],
                       pairs=[("part", "whole", "share")], stats={"median": "whole"})


def test_a_part_close_to_its_whole_is_hidden_with_its_share() -> None:
    t = _rates(48, 50)   # 2 not in the part: as telling as 2 in it
    suppress([t], 5)
    assert t.rows[0]["part"] is None and t.rows[0]["share"] is None and t.rows[0]["whole"] == 50
    t = _rates(20, 50)
    suppress([t], 5)
    assert (t.rows[0]["part"], t.rows[0]["share"], t.rows[0]["median"]) == (20, 0.4, 3.0)


def test_a_median_of_few_is_hidden() -> None:
    t = _rates(0, 4)
    suppress([t], 5)
    # "none of the 4" says as much about each of them as "all 4" would
    assert t.rows[0]["median"] is None and t.rows[0]["whole"] is None and t.rows[0]["part"] is None


def _outcomes(values: dict[str, int]) -> MetricTable:
    rows = [{"period": "2026-01", "outcome": k, "n": v} for k, v in values.items()]
    rows.append({"period": "2026-01", "outcome": "all", "n": sum(values.values())})
    return MetricTable("o", "S", "t", "d", [Column("period", "P", "period"), Column("outcome", "O", "dim"),
                                             Column("n", "N", COUNT)], rows, category="outcome")


def _conversion(to_s47: int) -> MetricTable:
    return MetricTable("c", "S", "t", "d", [Column("period", "P", "period"), Column("to_s47", "s", COUNT)],
                       [{"period": "2026-01", "to_s47": to_s47}],
                       sums={"to_s47": {"table": "o", "category": "outcome", "parts": ["s47", "care"]}})


def test_a_sum_never_gives_away_one_hidden_cell() -> None:
    outcomes, conv = _outcomes({"s47": 20, "care": 2, "nfa": 30, "help": 7}), _conversion(22)
    suppress([outcomes, conv], 5)
    shown = {r["outcome"]: r["n"] for r in outcomes.rows}
    # care (2) hides help (7) beside the total; then 22 - 20 would give care away, so s47 goes
    # too, and 52 - 22 - 30 would give help away, so nfa goes too: the sum itself can show
    assert shown == {"s47": None, "care": None, "nfa": None, "help": None, "all": 59}
    assert conv.rows[0]["to_s47"] == 22


def test_a_sum_whose_group_has_nothing_else_to_hide_is_hidden() -> None:
    outcomes, conv = _outcomes({"s47": 0, "care": 2, "nfa": 30, "help": 9}), _conversion(2)
    suppress([outcomes, conv], 5)
    assert conv.rows[0]["to_s47"] is None
    assert {r["outcome"]: r["n"] for r in outcomes.rows}["care"] is None


def test_the_difference_of_two_nested_sums_gives_nothing_away() -> None:
    outcomes = _outcomes({"assessment": 40, "strategy": 3, "s47": 11, "care": 2, "nfa": 30})
    conv = MetricTable("c", "S", "t", "d", [Column("period", "P", "period"), Column("to_strategy", "s", COUNT),
                                             Column("to_s47", "f", COUNT)],
                       [{"period": "2026-01", "to_strategy": 16, "to_s47": 13}],
                       sums={"to_strategy": {"table": "o", "category": "outcome", "parts": ["strategy", "s47", "care"]},
                             "to_s47": {"table": "o", "category": "outcome", "parts": ["s47", "care"]}})
    suppress([outcomes, conv], 5)
    shown = {r["outcome"]: r["n"] for r in outcomes.rows}
    row = conv.rows[0]
    # 16 - 13 would be the 3 strategy discussions: with nothing else in that difference to hide,
    # the larger sum goes
    assert shown["strategy"] is None and shown["care"] is None
    assert row["to_strategy"] is None and row["to_s47"] == 13
