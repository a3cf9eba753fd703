"""The MARAC network picture (graphs.network.to_svg / layout): readable, complete, deterministic.

Pure: mention rows built here, no store."""

from __future__ import annotations

import random
import re
import xml.etree.ElementTree as ET
from datetime import date

import polars as pl

from graphs import network as gnet

SCHEMA = {"mention_id": pl.Utf8, "person_id": pl.Utf8, "event_key": pl.Utf8, "source": pl.Utf8,
          "event_type": pl.Utf8, "role": pl.Utf8, "date": pl.Date, "household_key": pl.Utf8,
          "harmed": pl.Boolean, "offender": pl.Boolean, "dob": pl.Date}
NS = "{http://www.w3.org/2000/svg}"


def _family(extra_people: int = 0, seed: int = 0):
    """A mother (centre, victim), a suspect partner, three children; five police domestic-abuse
    events tying mother and partner, shared social-care events, lone health events; optionally
    ``extra_people`` hop-2 neighbours each with their own household and events."""
    rows = []
    dob = {"M": date(1990, 1, 1), "S": date(1988, 1, 1), "C1": date(2015, 1, 1), "C2": date(2017, 1, 1),
           "C3": date(2019, 1, 1)}

    def add(pid, ev, source, etype, role, d, hh="h:family", harmed=False, offender=False):
        rows.append((f"{pid}:{ev}", pid, ev, source, etype, role, d, hh, harmed, offender, dob.get(pid)))

    for i in range(5):  # repeated: one counted marker in the picture
        d = date(2021 + i // 2, 2 + i, 8)
        add("M", f"DA{i}", "police", "domestic_abuse", "victim", d, harmed=True)
        add("S", f"DA{i}", "police", "domestic_abuse", "suspect", d, offender=True)
    for i, c in enumerate(("C1", "C2", "C3")):
        d = date(2022, 3 + i, 1)
        add("M", f"SC{i}", "social_care", "neglect", "parent_carer", d)
        add(c, f"SC{i}", "social_care", "neglect", "subject_child", d, harmed=True)
        add(c, f"GP{i}", "health", "gp", "patient", date(2023, 1 + i, 5))
    add("S", "ED1", "health", "emergency_department", "patient", date(2024, 1, 5), hh="h:other")
    distance = {"M": 0, "S": 1, "C1": 1, "C2": 1, "C3": 1}
    rng = random.Random(seed)
    for k in range(extra_people):
        pid, hub = f"X{k:02d}", rng.choice(["S", "C1", "C2", "C3"])
        add(pid, f"XE{k}", "police", "antisocial_behaviour", "witness", date(2023, 1 + k % 12, 1), hh=f"h:x{k}")
        add(hub, f"XE{k}", "police", "antisocial_behaviour", "reporting_person", date(2023, 1 + k % 12, 1))
        add(pid, f"XG{k}", "health", "gp", "patient", date(2024, 1 + k % 12, 2), hh=f"h:x{k}")
        distance[pid] = 2
    frame = pl.DataFrame(rows, schema=SCHEMA, orient="row")
    people = {p: f"Person {p} (b. {dob[p].year})" if p in dob else f"Person {p}" for p in distance}
    return frame, distance, people


def _graph(extra_people: int = 0, shuffle: int | None = None):
    frame, distance, people = _family(extra_people)
    if shuffle is not None:  # same rows, another order
        frame = frame.sample(fraction=1.0, shuffle=True, seed=shuffle)
    return gnet.build_graph(frame, "M", distance, labels=people, hops=2)


def _labels(svg: str) -> list[tuple[str, tuple[float, float, float, float]]]:
    """The placed labels (haloed text) with their estimated boxes."""
    out = []
    for t in ET.fromstring(svg).iter(f"{NS}text"):
        if t.get("paint-order") != "stroke":
            continue
        size, x, y = float(t.get("font-size")), float(t.get("x")), float(t.get("y"))
        w = gnet._text_w(t.text or "", size, t.get("font-weight") == "bold") - 4
        out.append((t.text or "", (x - w / 2, y - size * 0.9, x + w / 2, y + size * 0.25)))
    return out


def test_valid_svg_with_legend_people_harm_and_dates():
    g = _graph()
    svg = gnet.to_svg(g, title="Network around Person M")
    root = ET.fromstring(svg)
    assert root.tag == f"{NS}svg"
    for words in ("Legend", "suspect / alleged perpetrator", "harmed (victim / child harmed)", "household",
                  "recorded living at", "collapsed group (count)", "n events tying the same people"):
        assert words in svg, words
    assert "Person M" in svg and "b. 1990" in svg and "#d62728" in svg
    texts = [t for t, _ in _labels(svg)]
    assert "Person S" in texts and "Person C1" in texts
    # a lone event keeps its full date beside it; lived-at links carry their first - last month
    assert "2024-01-05" in texts
    assert any(re.fullmatch(r"20\d\d-\d\d – 20\d\d-\d\d", t) for t in texts)
    # the roles are in the links' tooltips, not printed on every link
    assert "suspect 2021-02-08" in svg and not any(t.startswith("victim ") for t in texts)


def test_repeated_events_between_the_same_people_are_one_counted_marker():
    g = _graph()
    assert sum(1 for n in g if n.startswith("event:police:") or n.startswith("event:DA")) == 5  # the graph keeps all
    svg = gnet.to_svg(g)
    texts = [t for t, _ in _labels(svg)]
    assert "5 police: domestic abuse" in texts and "2021-02 – 2023-06" in texts
    assert not any(t.startswith("police: domestic abuse") for t in texts)
    pos = gnet.layout(g)
    assert set(pos) == set(g)
    da = {pos[n] for n in g if g.nodes[n].get("event_key", "").startswith("DA")}
    assert len(da) == 1  # drawn at one spot
    # the other events, each tying different people, each get their own spot
    sc = {pos[n] for n in g if g.nodes[n].get("event_key", "").startswith("SC")}
    assert len(sc) == 3


def test_labels_do_not_overlap():
    for extra in (0, 25):
        svg = gnet.to_svg(_graph(extra))
        labels = _labels(svg)
        people = [(t, b) for t, b in labels if t.startswith("Person ")]
        assert len(people) == 5 + extra
        for i, (t, a) in enumerate(people):
            for u, b in labels:
                if b is a:
                    continue
                w = min(a[2], b[2]) - max(a[0], b[0])
                h = min(a[3], b[3]) - max(a[1], b[1])
                assert w <= 1 or h <= 1, (t, u)


def test_people_and_markers_do_not_sit_on_each_other():
    g = _graph(25)
    pos = gnet.layout(g)
    spots = {}
    for n, p in pos.items():
        spots.setdefault(p, set()).add(n)
    shown = sorted(spots)
    for i, a in enumerate(shown):
        for b in shown[i + 1:]:
            assert (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2 > 20 ** 2, (spots[a], spots[b])


def test_the_page_grows_with_the_network():
    small = ET.fromstring(gnet.to_svg(_graph()))
    large = ET.fromstring(gnet.to_svg(_graph(40)))
    assert int(small.get("width")) >= 1400 and int(small.get("height")) >= 1000
    assert int(large.get("width")) > int(small.get("width"))
    assert int(large.get("height")) > int(small.get("height"))
    assert int(large.get("width")) < 5000  # but not without bound for 45 people


def test_same_input_same_bytes_whatever_the_row_order():
    a = gnet.to_svg(_graph(10), title="t")
    assert a == gnet.to_svg(_graph(10), title="t")
    assert a == gnet.to_svg(_graph(10, shuffle=3), title="t")
    assert gnet.layout(_graph(10)) == gnet.layout(_graph(10, shuffle=5))


def test_a_large_neighbourhood_renders():
    """(Speed is measured in bench/, never in a test: the shared machine makes timings flaky.)"""
    ET.fromstring(gnet.to_svg(_graph(60)))


def test_tiny_graphs():
    frame, distance, people = _family()
    one = gnet.build_graph(frame.filter(pl.col("person_id") == "S"), "S", {"S": 0}, labels=people, hops=1)
    ET.fromstring(gnet.to_svg(one, title="S alone"))
    empty = gnet.build_graph(frame.head(0), "M", {"M": 0}, hops=1)
    ET.fromstring(gnet.to_svg(empty))
    assert gnet.layout(empty) == {}
