"""Network views for a MARAC meeting (pure: mention rows in, a graph and its renderings out: the
Cytoscape.js elements and GraphML here; the picture for the meeting is graphs/network_dot.py,
laid out by Graphviz in views/network_picture.py).

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

import io
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


def most_frequent(counts: dict[Any, int]) -> Any:
    """The most frequent value (the smallest of equally frequent ones), None for none."""
    if not counts:
        return None
    top = max(counts.values())
    return min(v for v, n in counts.items() if n == top)


def _age(dob: Any, on: Any) -> float | None:
    if dob is None or on is None:
        return None
    return (on - dob).days / 365.25


def build_graph(rows: pl.DataFrame, centre: str, distance: dict[str, int],
                labels: dict[str, str] | None = None, collapse_over: int = 8, hops: int = 2) -> nx.MultiGraph:
    """The view graph from mention rows.

    ``rows``: ``mention_id, person_id, event_key, source, event_type, role, date, household_key,
    harmed, offender, dob`` (the prepared frame of graphs.harm, restricted to the view).
    ``distance``: person_id -> hops from ``centre``. ``labels``: optional person_id -> label
    (a person without one is labelled by id).
    """
    g = nx.MultiGraph(centre=centre, hops=hops)
    labels = labels or {}
    # A view is tens to a few hundred rows: grouped in Python (a polars call on a frame this
    # small costs more than the rows do: ~2 ms of a ~6 ms view). Groups keep the rows' order, ties
    # are broken by value: the element ids follow the order the graph is built in, so the same
    # rows must always draw the same ids.
    cols = ("person_id", "event_key", "source", "event_type", "role", "date", "household_key", "harmed",
            "offender", "dob")
    per: dict[str, dict[str, Any]] = {}
    ev: dict[str, dict[str, Any]] = {}
    pe: dict[tuple[str, str], dict[str, Any]] = {}
    ph: dict[tuple[str, str], dict[str, Any]] = {}
    for pid, ek, source, event_type, role, when, hk, harmed, offender, dob in rows.select(cols).iter_rows():
        if pid not in distance:
            continue
        p = per.setdefault(pid, {"offender": False, "harmed": False, "dobs": {}, "last": when, "mentions": 0})
        p["offender"] |= bool(offender)
        p["harmed"] |= bool(harmed)
        if dob is not None:
            p["dobs"][dob] = p["dobs"].get(dob, 0) + 1
        p["last"] = max(p["last"], when)
        p["mentions"] += 1
        e = ev.setdefault(ek, {"source": source, "event_type": event_type, "date": when, "harmed": False, "where": {}})
        e["date"] = min(e["date"], when)
        e["harmed"] |= bool(harmed)
        if harmed and hk is not None:
            e["where"].setdefault(hk, None)
        x = pe.setdefault((pid, ek), {"roles": set(), "date": when, "harmed": False})
        x["roles"].add(role)
        x["date"] = min(x["date"], when)
        x["harmed"] |= bool(harmed)
        if hk is not None:
            h = ph.setdefault((pid, hk), {"first": when, "last": when, "n": 0})
            h["first"], h["last"], h["n"] = min(h["first"], when), max(h["last"], when), h["n"] + 1
    # people
    for pid, r in per.items():
        dob = most_frequent(r["dobs"])
        age = _age(dob, r["last"])
        cls = ("suspect" if r["offender"] else "victim" if r["harmed"] else
               "child" if age is not None and age < 18 else "other")
        g.add_node(f"person:{pid}", type="person", person_id=pid, label=labels.get(pid) or pid, cls=cls,
                   hops=distance[pid], centre=pid == centre, dob=dob.isoformat() if dob else None,
                   mentions=r["mentions"])
    # events
    for ek, r in ev.items():
        g.add_node(f"event:{ek}", type="event", event_key=ek, source=r["source"],
                   event_type=r["event_type"], date=r["date"].isoformat(), harm=bool(r["harmed"]),
                   label=f"{r['source'].replace('_', ' ')}: {r['event_type'].replace('_', ' ')} {r['date'].isoformat()}")
        for h in r["where"]:
            g.add_node(f"household:{h}", type="household", household_key=h, label=h)
            g.add_edge(f"event:{ek}", f"household:{h}", role="happened_at", date=r["date"].isoformat(),
                       harm=bool(r["harmed"]))
    for (pid, ek), r in pe.items():
        g.add_edge(f"person:{pid}", f"event:{ek}", role="/".join(sorted(r["roles"])),
                   date=r["date"].isoformat(), harm=bool(r["harmed"]))
    for (pid, hk), r in ph.items():
        h = f"household:{hk}"
        if h not in g:
            g.add_node(h, type="household", household_key=hk, label=hk)
        g.add_edge(f"person:{pid}", h, role="lived_at", date=r["first"].isoformat(),
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
