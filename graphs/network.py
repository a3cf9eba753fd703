"""Network views for a MARAC meeting (pure: mention rows in, a graph and its renderings out).

The graph (networkx ``MultiGraph``) has three kinds of node and three kinds of edge:

- nodes ``person:<person_id>``, ``event:<event_key>``, ``household:<household_key>`` (and
  ``group:...`` nodes standing for collapsed sets, below);
- person–event edges with the person's ``role``, the ``date`` and ``harm`` (the person was
  harmed in it); person–household edges (``role`` ``lived_at``) with the first and last dates the
  person was recorded there; event–household edges (``role`` ``happened_at``) to the household
  where the harmed persons were living (graphs.harm).

A person's *class* drives the drawing: ``suspect`` (an offender role in any event shown),
``victim`` (harmed in any event shown), ``child`` (under 18 at their latest event, by date of
birth), else ``other``.

**Collapsing.** A person's events that no other person in the view shares, more than
``collapse_over`` of one source, become one group node ("12 police events", with how many were
harm and the date range). People at the outer ring reached only through one event or household,
more than ``collapse_over`` of them, become one group node ("23 people").
"""

from __future__ import annotations

import html
import io
import math
from datetime import date
from typing import Any

import networkx as nx
import polars as pl

CLASS_STYLE = {  # class: (fill, shape, legend)
    "victim": ("#d62728", "circle", "harmed (victim / child harmed)"),
    "suspect": ("#1f3b73", "square", "suspect / alleged perpetrator"),
    "child": ("#ff9f1c", "triangle", "child (not harmed here)"),
    "other": ("#9e9e9e", "circle", "other person"),
}


def _age(dob: Any, on: Any) -> float | None:
    if dob is None or on is None:
        return None
    return (on - dob).days / 365.25


def build_graph(rows: pl.DataFrame, centre: str, distance: dict[str, int],
                people: pl.DataFrame | None = None, collapse_over: int = 8, hops: int = 2) -> nx.MultiGraph:
    """The view graph from mention rows.

    ``rows``: ``mention_id, person_id, event_key, source, event_type, role, date, household_key,
    harmed, offender, dob`` (the prepared frame of graphs.harm, restricted to the view).
    ``distance``: person_id -> hops from ``centre``. ``people``: optional ``person_id, label``.
    """
    g = nx.MultiGraph(centre=centre, hops=hops)
    labels = dict(zip(people["person_id"].to_list(), people["label"].to_list())) if people is not None else {}
    rows = rows.filter(pl.col("person_id").is_in(list(distance)))
    # people
    per = rows.group_by("person_id").agg(
        pl.col("offender").any(), pl.col("harmed").any(), pl.col("dob").drop_nulls().mode().first(),
        pl.col("date").max().alias("last"), pl.len().alias("mentions"))
    for r in per.iter_rows(named=True):
        age = _age(r["dob"], r["last"])
        cls = ("suspect" if r["offender"] else "victim" if r["harmed"] else
               "child" if age is not None and age < 18 else "other")
        pid = r["person_id"]
        g.add_node(f"person:{pid}", type="person", person_id=pid, label=labels.get(pid) or pid, cls=cls,
                   hops=distance[pid], centre=pid == centre, dob=r["dob"].isoformat() if r["dob"] else None,
                   mentions=r["mentions"])
    # events
    ev = rows.group_by("event_key").agg(
        pl.col("source").first(), pl.col("event_type").first(), pl.col("date").min(), pl.col("harmed").any(),
        pl.col("household_key").filter(pl.col("harmed")).drop_nulls().unique().alias("where"))
    for r in ev.iter_rows(named=True):
        g.add_node(f"event:{r['event_key']}", type="event", event_key=r["event_key"], source=r["source"],
                   event_type=r["event_type"], date=r["date"].isoformat(), harm=bool(r["harmed"]),
                   label=f"{r['source'].replace('_', ' ')}: {r['event_type'].replace('_', ' ')} {r['date'].isoformat()}")
        for h in r["where"] or []:
            g.add_node(f"household:{h}", type="household", household_key=h, label=h)
            g.add_edge(f"event:{r['event_key']}", f"household:{h}", role="happened_at", date=r["date"].isoformat(),
                       harm=bool(r["harmed"]))
    pe = rows.group_by(["person_id", "event_key"]).agg(
        pl.col("role").unique().sort().str.join("/"), pl.col("date").min(), pl.col("harmed").any())
    for r in pe.iter_rows(named=True):
        g.add_edge(f"person:{r['person_id']}", f"event:{r['event_key']}", role=r["role"],
                   date=r["date"].isoformat(), harm=bool(r["harmed"]))
    ph = rows.filter(pl.col("household_key").is_not_null()).group_by(["person_id", "household_key"]).agg(
        pl.col("date").min().alias("first"), pl.col("date").max().alias("last"), pl.len().alias("n"))
    for r in ph.iter_rows(named=True):
        h = f"household:{r['household_key']}"
        if h not in g:
            g.add_node(h, type="household", household_key=r["household_key"], label=r["household_key"])
        g.add_edge(f"person:{r['person_id']}", h, role="lived_at", date=r["first"].isoformat(),
                   date_to=r["last"].isoformat(), mentions=r["n"], harm=False)
    _collapse_events(g, collapse_over)
    _collapse_outer_people(g, collapse_over, hops)
    return g


def _collapse_events(g: nx.MultiGraph, over: int) -> None:
    by_owner: dict[tuple[str, str], list[str]] = {}
    for n, d in list(g.nodes(data=True)):
        if d.get("type") != "event":
            continue
        persons = [x for x in g.neighbors(n) if g.nodes[x].get("type") == "person"]
        if len(set(persons)) == 1:
            by_owner.setdefault((persons[0], d["source"]), []).append(n)
    for (owner, source), events in by_owner.items():
        if len(events) <= over:
            continue
        dates = sorted(g.nodes[e]["date"] for e in events)
        harm = sum(1 for e in events if g.nodes[e]["harm"])
        gid = f"group:{owner}:{source}"
        g.add_node(gid, type="group", label=f"{len(events)} {source.replace('_', ' ')} events", count=len(events),
                   harm_count=harm, date=dates[0], date_to=dates[-1], harm=harm > 0,
                   members=sorted(g.nodes[e]["event_key"] for e in events))
        g.add_edge(owner, gid, role=f"{len(events)} events", date=dates[0], date_to=dates[-1], harm=harm > 0)
        for e in events:
            for h in [x for x in g.neighbors(e) if g.nodes[x].get("type") == "household"]:
                if not g.has_edge(gid, h):
                    g.add_edge(gid, h, role="happened_at", date=dates[0], harm=harm > 0)
            g.remove_node(e)


def _collapse_outer_people(g: nx.MultiGraph, over: int, hops: int) -> None:
    by_hub: dict[str, list[str]] = {}
    for n, d in list(g.nodes(data=True)):
        if d.get("type") != "person" or d.get("hops") != hops or d.get("centre"):
            continue
        nbrs = set(g.neighbors(n))
        if len(nbrs) == 1:
            by_hub.setdefault(next(iter(nbrs)), []).append(n)
    for hub, people in by_hub.items():
        if len(people) <= over:
            continue
        classes: dict[str, int] = {}
        for p in people:
            classes[g.nodes[p]["cls"]] = classes.get(g.nodes[p]["cls"], 0) + 1
        harm = any(d.get("harm") for p in people for _, _, d in g.edges(p, data=True))
        gid = f"group:{hub}:people"
        g.add_node(gid, type="group", label=f"{len(people)} people", count=len(people), harm=harm,
                   members=sorted(g.nodes[p]["person_id"] for p in people), classes=classes)
        g.add_edge(hub, gid, role="people", harm=harm, date=None)
        g.remove_nodes_from(people)


# -- renderings ---------------------------------------------------------------------------------

def _clean(v: Any) -> Any:
    if isinstance(v, (list, tuple, set)):
        return list(v)
    if isinstance(v, date):
        return v.isoformat()
    return v


def to_cytoscape(g: nx.MultiGraph) -> dict[str, Any]:
    """Cytoscape.js elements: ``{"nodes": [{"data": {...}}], "edges": [{"data": {...}}]}``."""
    nodes = [{"data": {"id": n, **{k: _clean(v) for k, v in d.items()}}} for n, d in g.nodes(data=True)]
    edges = []
    for i, (a, b, d) in enumerate(g.edges(data=True)):
        edges.append({"data": {"id": f"e{i}", "source": a, "target": b, "role": d.get("role"),
                               "date": d.get("date"), "harm": bool(d.get("harm")),
                               **{k: _clean(v) for k, v in d.items() if k not in ("role", "date", "harm")}}})
    return {"nodes": nodes, "edges": edges}


def to_graphml(g: nx.MultiGraph) -> str:
    """GraphML (networkx), attributes flattened to strings/numbers/booleans."""
    h = nx.MultiGraph()
    for n, d in g.nodes(data=True):
        h.add_node(n, **{k: (v if isinstance(v, (bool, int, float, str)) else ("" if v is None else str(v)))
                         for k, v in d.items()})
    for a, b, d in g.edges(data=True):
        h.add_edge(a, b, **{k: (v if isinstance(v, (bool, int, float, str)) else ("" if v is None else str(v)))
                            for k, v in d.items()})
    buf = io.BytesIO()
    nx.write_graphml(h, buf)
    return buf.getvalue().decode()


def layout(g: nx.MultiGraph) -> dict[str, tuple[float, float]]:
    """Deterministic positions: people on rings by hops from the centre, then a short spring."""
    shells: dict[int, list[str]] = {}
    for n, d in g.nodes(data=True):
        shells.setdefault(d.get("hops", 0) * 2 if d.get("type") == "person" else -1, []).append(n)
    ordered = [sorted(shells[k]) for k in sorted(k for k in shells if k >= 0)]
    init: dict[str, tuple[float, float]] = {}
    for ring, members in enumerate(ordered):
        for i, n in enumerate(members):
            a = 2 * math.pi * i / max(1, len(members))
            init[n] = (ring * math.cos(a), ring * math.sin(a))
    for n in sorted(shells.get(-1, [])):
        nb = [init[x] for x in g.neighbors(n) if x in init]
        init[n] = ((sum(p[0] for p in nb) / len(nb) + 0.05, sum(p[1] for p in nb) / len(nb) + 0.05) if nb else (0.1, 0.1))
    if g.number_of_nodes() <= 1:
        return {n: (0.0, 0.0) for n in g}
    simple = nx.Graph(g)
    pos = nx.spring_layout(simple, pos=init, seed=1, iterations=60, k=1.5 / math.sqrt(g.number_of_nodes()))
    return {n: (float(p[0]), float(p[1])) for n, p in pos.items()}


def to_svg(g: nx.MultiGraph, title: str = "", width: int = 1400, height: int = 1000) -> str:
    """A self-contained SVG: legend, people by class (shape and colour), harm in red, dates on edges,
    households as houses, events as diamonds, collapsed groups as counted boxes."""
    pos = layout(g)
    xs = [p[0] for p in pos.values()] or [0]
    ys = [p[1] for p in pos.values()] or [0]
    pad, top, right = 70, 120, 300
    sx = (width - right - 2 * pad) / max(1e-9, (max(xs) - min(xs)))
    sy = (height - top - pad) / max(1e-9, (max(ys) - min(ys)))

    def xy(n: str) -> tuple[float, float]:
        x, y = pos[n]
        return (pad + (x - min(xs)) * sx if max(xs) > min(xs) else (width - right) / 2,
                top + (y - min(ys)) * sy if max(ys) > min(ys) else (height + top) / 2)

    e_ = html.escape
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="Arial, Helvetica, sans-serif">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{pad}" y="40" font-size="24" font-weight="bold">{e_(title)}</text>',
           f'<text x="{pad}" y="70" font-size="14" fill="#444">People {sum(1 for _, d in g.nodes(data=True) if d.get("type") == "person")}, '
           f'events {sum(1 for _, d in g.nodes(data=True) if d.get("type") == "event")}, households '
           f'{sum(1 for _, d in g.nodes(data=True) if d.get("type") == "household")}. Red = harm. Dates on links.</text>']
    for a, b, d in g.edges(data=True):
        (x1, y1), (x2, y2) = xy(a), xy(b)
        harm = d.get("harm")
        colour = "#d62728" if harm else ("#2ca02c" if d.get("role") == "lived_at" else "#888")
        dash = ' stroke-dasharray="6,4"' if d.get("role") == "lived_at" else ""
        out.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{colour}" '
                   f'stroke-width="{2.5 if harm else 1.2}"{dash}/>')
        if d.get("date") and d.get("role") != "happened_at":
            label = d["date"] + (f"–{d['date_to']}" if d.get("date_to") and d.get("date_to") != d["date"] else "")
            role = d.get("role") or ""
            out.append(f'<text x="{(x1 + x2) / 2:.1f}" y="{(y1 + y2) / 2 - 3:.1f}" font-size="10" fill="#555" '
                       f'text-anchor="middle">{e_(role.replace("_", " "))} {e_(label)}</text>')
    for n, d in g.nodes(data=True):
        x, y = xy(n)
        t = d.get("type")
        if t == "person":
            fill, shape, _ = CLASS_STYLE[d["cls"]]
            r = 16 if d.get("centre") else 11
            stroke = ' stroke="black" stroke-width="4"' if d.get("centre") else ' stroke="white" stroke-width="1.5"'
            if shape == "square":
                out.append(f'<rect x="{x - r:.1f}" y="{y - r:.1f}" width="{2 * r}" height="{2 * r}" fill="{fill}"{stroke}/>')
            elif shape == "triangle":
                out.append(f'<polygon points="{x:.1f},{y - r * 1.2:.1f} {x - r:.1f},{y + r * 0.8:.1f} '
                           f'{x + r:.1f},{y + r * 0.8:.1f}" fill="{fill}"{stroke}/>')
            else:
                out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{fill}"{stroke}/>')
            out.append(f'<text x="{x:.1f}" y="{y + r + 14:.1f}" font-size="13" font-weight="bold" '
                       f'text-anchor="middle">{e_(str(d.get("label")))}</text>')
        elif t == "household":
            out.append(f'<polygon points="{x:.1f},{y - 14:.1f} {x - 12:.1f},{y - 3:.1f} {x - 12:.1f},{y + 10:.1f} '
                       f'{x + 12:.1f},{y + 10:.1f} {x + 12:.1f},{y - 3:.1f}" fill="#2ca02c" stroke="white"/>')
            out.append(f'<text x="{x:.1f}" y="{y + 24:.1f}" font-size="10" fill="#1b5e20" '
                       f'text-anchor="middle">{e_(str(d.get("label")))}</text>')
        elif t == "event":
            s = 8
            fill = "#d62728" if d.get("harm") else "#bbbbbb"
            out.append(f'<polygon points="{x:.1f},{y - s:.1f} {x + s:.1f},{y:.1f} {x:.1f},{y + s:.1f} {x - s:.1f},{y:.1f}" '
                       f'fill="{fill}" stroke="#333" stroke-width="0.8"><title>{e_(str(d.get("label")))}</title></polygon>')
            if d.get("harm"):  # other events keep their label as a tooltip only, to keep the picture readable
                out.append(f'<text x="{x + 10:.1f}" y="{y + 4:.1f}" font-size="10" fill="#333">{e_(str(d.get("label")))}</text>')
        else:  # group
            w = 12 + 7 * len(str(d.get("label")))
            fill = "#fde0dc" if d.get("harm") else "#eeeeee"
            out.append(f'<rect x="{x - w / 2:.1f}" y="{y - 13:.1f}" width="{w:.1f}" height="26" rx="8" fill="{fill}" '
                       f'stroke="#555" stroke-dasharray="3,2"/>')
            out.append(f'<text x="{x:.1f}" y="{y + 5:.1f}" font-size="12" text-anchor="middle">{e_(str(d.get("label")))}</text>')
    # legend
    lx, ly = width - right + 20, top
    out.append(f'<rect x="{lx - 10}" y="{ly - 30}" width="{right - 20}" height="330" fill="#fafafa" stroke="#ccc"/>')
    out.append(f'<text x="{lx}" y="{ly - 8}" font-size="15" font-weight="bold">Legend</text>')
    items = [(CLASS_STYLE[c][0], CLASS_STYLE[c][1], CLASS_STYLE[c][2]) for c in ("victim", "suspect", "child", "other")]
    items += [("#2ca02c", "house", "household"), ("#d62728", "diamond", "harm event"),
              ("#bbbbbb", "diamond", "other event"), ("#eeeeee", "box", "collapsed group (count)")]
    for i, (fill, shape, text) in enumerate(items):
        y = ly + 18 + i * 28
        if shape == "square":
            out.append(f'<rect x="{lx}" y="{y - 9}" width="18" height="18" fill="{fill}"/>')
        elif shape == "triangle":
            out.append(f'<polygon points="{lx + 9},{y - 10} {lx},{y + 8} {lx + 18},{y + 8}" fill="{fill}"/>')
        elif shape == "house":
            out.append(f'<polygon points="{lx + 9},{y - 10} {lx},{y - 2} {lx},{y + 9} {lx + 18},{y + 9} {lx + 18},{y - 2}" fill="{fill}"/>')
        elif shape == "diamond":
            out.append(f'<polygon points="{lx + 9},{y - 9} {lx + 18},{y} {lx + 9},{y + 9} {lx},{y}" fill="{fill}" stroke="#333"/>')
        elif shape == "box":
            out.append(f'<rect x="{lx}" y="{y - 9}" width="18" height="18" rx="4" fill="{fill}" stroke="#555" stroke-dasharray="3,2"/>')
        else:
            out.append(f'<circle cx="{lx + 9}" cy="{y}" r="9" fill="{fill}"/>')
        out.append(f'<text x="{lx + 28}" y="{y + 5}" font-size="13">{e_(text)}</text>')
    y = ly + 18 + len(items) * 28
    out.append(f'<line x1="{lx}" y1="{y}" x2="{lx + 18}" y2="{y}" stroke="#d62728" stroke-width="2.5"/>'
               f'<text x="{lx + 28}" y="{y + 5}" font-size="13">harmed in / harm link</text>')
    out.append(f'<line x1="{lx}" y1="{y + 24}" x2="{lx + 18}" y2="{y + 24}" stroke="#2ca02c" stroke-dasharray="6,4"/>'
               f'<text x="{lx + 28}" y="{y + 29}" font-size="13">recorded living at (dates)</text>')
    out.append(f'<text x="{lx}" y="{y + 56}" font-size="12" fill="#444">Thick outline: the person asked about.</text>')
    out.append("</svg>")
    return "\n".join(out)
