"""The network picture's DOT source (graphs.network_dot): households as clusters, events of one kind
between the same people as one node with a count, people in words, no internal id anywhere."""

from __future__ import annotations

from datetime import date

import polars as pl

from graphs import network as gnet
from graphs.network_dot import to_dot


def _rows() -> pl.DataFrame:
    rows = []
    for i, when in enumerate((date(2021, 3, 1), date(2022, 5, 1), date(2024, 11, 1))):   # three DA incidents, two people
        rows += [(f"m{i}a", "MI-00000001B", f"police:E{i}", "police", "domestic_abuse", "victim", when, "uprn:1", True, False),
                 (f"m{i}b", "MI-00000002C", f"police:E{i}", "police", "domestic_abuse", "suspect", when, "uprn:1", False, True)]
    rows += [("m9", "MI-00000001B", "health:G1", "health", "gp", "patient", date(2023, 1, 1), "uprn:2", False, False)]
    return pl.DataFrame(rows, orient="row", schema={
        "mention_id": pl.Utf8, "person_id": pl.Utf8, "event_key": pl.Utf8, "source": pl.Utf8, "event_type": pl.Utf8,
        "role": pl.Utf8, "date": pl.Date, "household_key": pl.Utf8, "harmed": pl.Boolean, "offender": pl.Boolean,
    }).with_columns(dob=pl.lit(date(1990, 1, 1)))


def test_households_clusters_grouped_events_words_and_no_ids():
    g = gnet.build_graph(_rows(), "MI-00000001B", {"MI-00000001B": 0, "MI-00000002C": 1},
                         labels={"MI-00000001B": "Amy Jones (b. 1990)", "MI-00000002C": "Dan Smith (b. 1988)"})
    dot, tips = to_dot(g, "People around Amy Jones", {"uprn:1": "10 Sycamore St, NM7 0EX", "uprn:2": "2 Elm Rd, NM1 1AA"})
    assert dot.count("subgraph cluster_") == 2 and '"10 Sycamore St, NM7 0EX"' in dot
    assert "3 × domestic abuse\\n03/2021 - 11/2024" in dot            # one node, with its count and span
    assert "alone: 1 record (gp)" in dot                              # a person's solo records: a line in their box
    assert "also lived at 2 Elm Rd, NM1 1AA" in dot or "2 Elm Rd" in dot
    for code in ("MI-0000000", "uprn:", "police:E", "health:G1"):
        assert code not in dot and not any(code in t for t in tips.values()), code
    assert any("harm in 3" in t for t in tips.values())


def test_same_rows_same_picture_source_whatever_their_order():
    def dot(rows):
        g = gnet.build_graph(rows, "MI-00000001B", {"MI-00000001B": 0, "MI-00000002C": 1})
        return to_dot(g, "t", {})[0]
    assert dot(_rows()) == dot(_rows().reverse())
