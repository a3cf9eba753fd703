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
import numpy as np

CLASS_STYLE = {  # class: (fill, shape, legend)
    "victim": ("#d62728", "circle", "harmed (victim / child harmed)"),
    "suspect": ("#1f3b73", "square", "suspect / alleged perpetrator"),
    "child": ("#ff9f1c", "triangle", "child (not harmed here)"),
    "other": ("#9e9e9e", "circle", "other person"),
}


def _mode(counts: dict[Any, int]) -> Any:
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
        dob = _mode(r["dobs"])
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


# -- drawing ------------------------------------------------------------------------------------
#
# The SVG is drawn from a *display graph*: the view graph where the events that tie exactly the
# same people (same source, same harm) are one counted marker ("4 police events, 2021-02 – 2024-06");
# the view graph itself (JSON, GraphML) is unchanged. People sit on rings by hops from the centre
# (ring size grows with the number of people; people who share a household or events sit side by
# side), events, households and groups are then pulled between their people by a small
# deterministic force relaxation, and labels are placed greedily where they overlap nothing.

OFFENDER_ROLES = frozenset({"suspect", "alleged_perpetrator", "perpetrator", "offender"})
EDGE_STYLE = {  # kind: (colour, width, dash, legend)
    "harm": ("#d62728", 2.6, "", "harmed in the event"),
    "offender": ("#1f3b73", 2.0, "", "suspect / perpetrator in the event"),
    "role": ("#9a9a9a", 1.1, "", "other role in the event (hover: role)"),
    "lived_at": ("#2ca02c", 1.4, "6,4", "recorded living at (first – last date)"),
    "happened_at": ("#e9a3a0", 1.0, "2,3", "harm event at this household"),
    "group": ("#777777", 1.2, "3,2", "link to a collapsed group"),
}
_KIND_ORDER = ("harm", "offender", "role", "group", "lived_at", "happened_at")
SMALL_RING = 8  # up to this many people around the centre: the centre joins their ring
_RADIUS = {"person": 13.0, "event": 8.0, "bundle": 12.0, "household": 14.0}


def _short(d: Any) -> str:
    return str(d)[:7] if d else ""


def _span(a: Any, b: Any = None) -> str:
    a, b = _short(a), _short(b)
    return a if not b or a == b else f"{a} – {b}"


def _words(s: Any) -> str:
    return str(s or "").replace("_", " ")


def _edge_kind(g: nx.MultiGraph, a: str, b: str, d: dict[str, Any]) -> str:
    role = d.get("role") or ""
    if role in ("lived_at", "happened_at"):
        return role
    types = {g.nodes[a].get("type"), g.nodes[b].get("type")}
    if d.get("harm"):
        return "harm"
    if "group" in types:
        return "group"
    return "offender" if set(role.split("/")) & OFFENDER_ROLES else "role"


def _display(g: nx.MultiGraph) -> tuple[nx.Graph, dict[str, str]]:
    """The display graph and, for every node of ``g``, the display node that draws it."""
    d_g = nx.Graph()
    owner: dict[str, str] = {}
    buckets: dict[tuple[tuple[str, ...], str, bool], list[str]] = {}
    for n in sorted(g):
        d = g.nodes[n]
        if d.get("type") != "event":
            d_g.add_node(n, **d)
            owner[n] = n
            continue
        ties = tuple(sorted({x for x in g.neighbors(n) if g.nodes[x].get("type") != "household"}))
        buckets.setdefault((ties, str(d.get("source") or ""), bool(d.get("harm"))), []).append(n)
    for (ties, source, harm), events in sorted(buckets.items()):
        if len(events) == 1:
            d_g.add_node(events[0], **g.nodes[events[0]])
            owner[events[0]] = events[0]
            continue
        ev = sorted(events, key=lambda e: (g.nodes[e].get("date") or "", e))
        types: dict[str, int] = {}
        for e in ev:
            t = _words(g.nodes[e].get("event_type"))
            types[t] = types.get(t, 0) + 1
        bid = f"bundle:{source}:{'harm' if harm else 'other'}:{'|'.join(ties)}"
        d_g.add_node(bid, type="bundle", source=source, harm=harm, count=len(ev), types=types,
                     date=g.nodes[ev[0]].get("date"), date_to=g.nodes[ev[-1]].get("date"),
                     tips=[str(g.nodes[e].get("label")) for e in ev])
        for e in ev:
            owner[e] = bid
    agg: dict[tuple[str, str], dict[str, Any]] = {}
    rows = sorted(((a, b, d) for a, b, d in g.edges(data=True)),
                  key=lambda r: (min(r[0], r[1]), max(r[0], r[1]), str(r[2].get("role")), str(r[2].get("date"))))
    for a, b, d in rows:
        oa, ob = sorted((owner[a], owner[b]))
        if oa == ob:
            continue
        e = agg.setdefault((oa, ob), {"kinds": set(), "dates": [], "tips": [], "n": 0})
        e["kinds"].add(_edge_kind(g, a, b, d))
        e["n"] += 1
        for k in ("date", "date_to"):
            if d.get(k):
                e["dates"].append(str(d[k]))
        span = str(d.get("date") or "") + (f"–{d['date_to']}" if d.get("date_to") and d.get("date_to") != d.get("date") else "")
        e["tips"].append(f"{_words(d.get('role'))} {span}".strip())
    for (a, b), e in sorted(agg.items()):
        kind = next(k for k in _KIND_ORDER if k in e["kinds"])
        dates = sorted(e["dates"])
        tips = sorted(set(e["tips"]))
        d_g.add_edge(a, b, kind=kind, date=dates[0] if dates else None, date_to=dates[-1] if dates else None,
                     n=e["n"], tip="; ".join(tips[:12]) + ("; …" if len(tips) > 12 else ""))
    return d_g, owner


def _tie(d_g: nx.Graph, p: str, q: str) -> float:
    w = 0.0
    for x in set(d_g[p]) & set(d_g[q]):
        t = d_g.nodes[x].get("type")
        w += 3.0 if t == "household" else float(d_g.nodes[x].get("count") or 1)
    return w


def _spread(targets: list[tuple[float, str]], sep: float) -> dict[str, float]:
    """Angles near their targets, at least ``sep`` apart (deterministic): runs of people that would
    be too close are centred on their targets' mean, merging runs until none overlap."""
    items = sorted(targets)
    n = len(items)
    if n <= 1:
        return {k: a for a, k in items}
    sep = min(sep, 2 * math.pi / n)
    runs = [[a, 1, a] for a, _ in items]  # [sum of targets, size, start angle]
    merged = True
    while merged:
        merged = False
        for i in range(len(runs) - 1):
            end = runs[i][2] + (runs[i][1] - 1) * sep
            if runs[i + 1][2] < end + sep - 1e-9:
                total, size = runs[i][0] + runs[i + 1][0], runs[i][1] + runs[i + 1][1]
                runs[i:i + 2] = [[total, size, total / size - (size - 1) * sep / 2]]
                merged = True
                break
    last_end = runs[-1][2] + (runs[-1][1] - 1) * sep
    if runs[0][2] + 2 * math.pi < last_end + sep - 1e-9:  # they meet round the back: evenly spaced
        step = 2 * math.pi / n
        sx = sum(math.cos(a - k * step) for k, (a, _) in enumerate(items))
        sy = sum(math.sin(a - k * step) for k, (a, _) in enumerate(items))
        base = math.atan2(sy, sx)
        return {key: base + k * step for k, (_, key) in enumerate(items)}
    out, k = {}, 0
    for _, size, start in runs:
        for j in range(size):
            out[items[k][1]] = start + j * sep
            k += 1
    return out


def _people_rings(d_g: nx.Graph) -> dict[str, tuple[float, float]]:
    """People on rings by hops. A small first ring (a family) takes the centre person too, so the
    events among them have the whole disc inside the ring; a large one circles the centre."""
    people = [n for n in sorted(d_g) if d_g.nodes[n].get("type") == "person"]
    centre = next((p for p in people if d_g.nodes[p].get("centre")), people[0] if people else None)
    pos: dict[str, tuple[float, float]] = {}
    if centre is None:
        return pos
    rings: dict[int, list[str]] = {}
    for p in people:
        if p != centre:
            rings.setdefault(max(1, int(d_g.nodes[p].get("hops") or 1)), []).append(p)
    tie = {(p, q): _tie(d_g, p, q) for p in people for q in people if p < q}

    def t(p: str, q: str) -> float:
        return tie.get((p, q) if p < q else (q, p), 0.0)

    inner = min(rings) if rings else 1
    on_ring = 0 < len(rings.get(inner, [])) <= SMALL_RING
    if not on_ring:
        pos[centre] = (0.0, 0.0)
    radius, spacing = 0.0, 175.0
    free = sum(1 for n in d_g if d_g.nodes[n].get("type") != "person")
    gap = min(420.0, 220.0 + 10.0 * free / max(1, len(rings)))
    angle: dict[str, float] = {}
    for h in sorted(rings):
        members = rings[h]
        if h == inner:  # a chain: each next person the one most tied to the last placed
            if on_ring:
                order = [centre]
            else:
                order = [max(members, key=lambda q: (t(centre, q), sum(t(x, q) for x in members), q))]
            rest = set(members) - set(order)
            while rest:
                last = order[-1]
                nxt = max(sorted(rest), key=lambda q: (t(last, q), sum(t(x, q) for x in order[-3:]), t(centre, q)))
                order.append(nxt)
                rest.discard(nxt)
            radius = max(radius + gap, len(order) * spacing / (2 * math.pi))
            for i, p in enumerate(order):
                angle[p] = -math.pi / 2 + 2 * math.pi * i / len(order)
            members = order
        else:  # near the people they are tied to, spread apart
            radius = max(radius + gap, len(members) * spacing / (2 * math.pi))
            targets = []
            for p in members:
                sx = sy = 0.0
                for q, a in sorted(angle.items()):
                    sx += t(p, q) * math.cos(a)
                    sy += t(p, q) * math.sin(a)
                targets.append((math.atan2(sy, sx) if sx or sy else 0.0, p))
            angle.update(_spread(targets, spacing / radius))
        for p in members:
            pos[p] = (radius * math.cos(angle[p]), radius * math.sin(angle[p]))
    if centre not in pos:
        pos[centre] = (0.0, 0.0)
    return pos


def _node_radius(d: dict[str, Any]) -> float:
    if d.get("type") == "group":
        return max(30.0, (12 + 7 * len(str(d.get("label")))) / 2)
    return _RADIUS.get(str(d.get("type")), 10.0) + (4.0 if d.get("centre") else 0.0)


def _positions(d_g: nx.Graph) -> dict[str, tuple[float, float]]:
    """Pixel positions: people fixed on rings, the rest relaxed between them (deterministic)."""

    nodes = sorted(d_g)
    if not nodes:
        return {}
    pos = _people_rings(d_g)
    fixed = set(pos)
    # start: the others at the mean of their placed neighbours, lone ones pushed outwards
    todo = [n for n in nodes if n not in pos]
    for _ in range(6):
        left = []
        for n in todo:
            nb = [pos[x] for x in sorted(d_g[n]) if x in fixed] or [pos[x] for x in sorted(d_g[n]) if x in pos]
            if nb:
                pos[n] = (sum(p[0] for p in nb) / len(nb), sum(p[1] for p in nb) / len(nb))
            else:
                left.append(n)
        todo = left
    for i, n in enumerate(todo):
        pos[n] = (60.0 * math.cos(i), 60.0 * math.sin(i))
    same: dict[tuple[int, int], list[str]] = {}  # nodes that start on the same spot, fanned out
    for n in nodes:
        if n not in fixed:
            same.setdefault((round(pos[n][0]), round(pos[n][1])), []).append(n)
    for (x, y), members in sorted(same.items()):
        for k, n in enumerate(members):
            nb = sorted(v for v in d_g[n] if v in fixed)
            if len(nb) == 1:  # lone: outwards from its person
                px, py = pos[nb[0]]
                base = math.atan2(py, px) if (px or py) else -math.pi / 2 + 0.9
                a = base + (0.45 * ((k + 1) // 2) * (1 if k % 2 else -1))
                pos[n] = (px + 95 * math.cos(a), py + 95 * math.sin(a))
            elif len(members) > 1:  # side by side, across the line between their people
                (ax, ay), (bx, by) = (pos[nb[0]], pos[nb[-1]]) if len(nb) > 1 else ((0.0, 0.0), (x + 1e-3, y))
                ln = max(1e-9, math.hypot(bx - ax, by - ay))
                off = (k - (len(members) - 1) / 2) * 45.0
                pos[n] = (x - (by - ay) / ln * off, y + (bx - ax) / ln * off)
    idx = {n: i for i, n in enumerate(nodes)}
    xy = np.array([pos[n] for n in nodes], dtype=float)
    free = np.array([n not in fixed for n in nodes])
    rad = np.array([_node_radius(d_g.nodes[n]) + (30.0 if d_g.nodes[n].get("type") == "person" else 14.0)
                    for n in nodes])
    ea, eb, el, ew = [], [], [], []
    for a, b, d in sorted(d_g.edges(data=True), key=lambda r: (r[0], r[1])):
        ea.append(idx[a])
        eb.append(idx[b])
        kind = d.get("kind")
        rest = 150.0 if kind == "lived_at" else 120.0 if kind == "happened_at" else 95.0
        if (a in fixed) != (b in fixed):  # no pull off the spot between its people where it started
            rest = max(rest, math.hypot(pos[a][0] - pos[b][0], pos[a][1] - pos[b][1]))
        el.append(rest)
        ew.append(0.02 if kind == "happened_at" else 0.6 if kind == "lived_at" else 1.0)
    ea_, eb_, el_, ew_ = (np.array(v, dtype=int if i < 2 else float) for i, v in enumerate((ea, eb, el, ew)))
    min_d = rad[:, None] + rad[None, :]
    np.fill_diagonal(min_d, 0.0)
    iters = 300
    for it in range(iters):
        delta = xy[:, None, :] - xy[None, :, :]
        dist = np.sqrt((delta ** 2).sum(-1))
        np.fill_diagonal(dist, 1e9)
        dist = np.maximum(dist, 0.5)
        push = np.where(dist < min_d, (min_d - dist) / dist, 0.0) * 0.5 + np.where(dist < 260.0, 80.0 / dist ** 2, 0.0)
        force = (delta * push[:, :, None]).sum(1)
        if len(ea):
            v = xy[eb_] - xy[ea_]
            ln = np.maximum(np.sqrt((v ** 2).sum(-1)), 0.5)
            f = (ew_ * 0.15 * (ln - el_) / ln)[:, None] * v
            np.add.at(force, ea_, f)
            np.add.at(force, eb_, -f)
        cap = 25.0 * (1 - it / iters) + 1.0
        ln = np.maximum(np.sqrt((force ** 2).sum(-1)), 1e-9)
        step = force * np.minimum(1.0, cap / ln)[:, None]
        xy[free] += step[free]
    return {n: (round(float(xy[i, 0]), 2), round(float(xy[i, 1]), 2)) for i, n in enumerate(nodes)}


def layout(g: nx.MultiGraph) -> dict[str, tuple[float, float]]:
    """Deterministic positions (pixels, before the page offset): people on rings by hops from the
    centre, events (several tying the same people drawn as one) and households between their people."""
    d_g, owner = _display(g)
    pos = _positions(d_g)
    return {n: pos[owner[n]] for n in sorted(g)}


# -- labels --------------------------------------------------------------------------------------

def _text_w(s: str, size: float, bold: bool = False) -> float:
    narrow = sum(1 for c in s if c in "ijlI.,:;!|()' -1tfr")
    return size * ((0.68 if bold else 0.6) * (len(s) - narrow) + 0.36 * narrow) + 4


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


class _Labels:
    """Greedy label placement: each label takes the first candidate box that overlaps nothing
    placed so far (node shapes and earlier labels), else the least-overlapping one."""

    def __init__(self, obstacles: list[tuple[float, float, float, float]]):
        self.boxes = list(obstacles)
        self.shapes = len(self.boxes)  # overlapping a shape costs more than overlapping a label
        self.placed: list[tuple[tuple[float, float, float, float], list[tuple[str, float, str, str]]]] = []

    def add(self, lines: list[tuple[str, float, str, str]], centres: list[tuple[float, float]],
            own: tuple[float, float, float, float] | None = None) -> None:
        w = max(_text_w(t, s, wt == "bold") for t, s, wt, _ in lines)
        h = sum(s * 1.2 for _, s, _, _ in lines)
        best, score = None, math.inf
        for cx, cy in centres:
            box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
            sc = 0.0
            for i, b in enumerate(self.boxes):
                if b is not own and b[0] < box[2] and box[0] < b[2] and b[1] < box[3] and box[1] < b[3]:
                    sc += _overlap(box, b) * (4.0 if i < self.shapes else 1.0)
            if sc < score - 1e-6:
                best, score = box, sc
                if sc == 0.0:
                    break
        assert best is not None
        self.boxes.append(best)
        self.placed.append((best, lines))


def _around(x: float, y: float, r: float, w: float, h: float) -> list[tuple[float, float]]:
    out = []
    for f in (1.0, 1.9, 2.9):
        g_ = 3 + (f - 1) * 14
        out += [(x, y + r + g_ + h / 2), (x + r + g_ + w / 2, y), (x, y - r - g_ - h / 2), (x - r - g_ - w / 2, y),
                (x + r * 0.7 + g_ + w / 2, y + r * 0.7 + g_ + h / 2), (x - r * 0.7 - g_ - w / 2, y + r * 0.7 + g_ + h / 2),
                (x + r * 0.7 + g_ + w / 2, y - r * 0.7 - g_ - h / 2), (x - r * 0.7 - g_ - w / 2, y - r * 0.7 - g_ - h / 2)]
    return out


def _person_lines(d: dict[str, Any]) -> list[tuple[str, float, str, str]]:
    label = str(d.get("label") or d.get("person_id"))
    name, born = label, ""
    if label.endswith(")") and " (b. " in label:
        name, born = label[: label.rindex(" (b. ")], label[label.rindex(" (b. ") + 2:-1]
    lines = [(name, 14.0 if d.get("centre") else 12.5, "bold", "#111")]
    if born:
        lines.append((born, 10.5, "normal", "#555"))
    return lines


def _event_lines(d: dict[str, Any]) -> list[tuple[str, float, str, str]]:
    colour = "#9b1c1c" if d.get("harm") else "#444"
    size = 10.5 if d.get("harm") else 9.5
    if d.get("type") == "bundle":
        types = d.get("types") or {}
        what = (f"{d['count']} {_words(d.get('source'))}: {next(iter(types))}" if len(types) == 1
                else f"{d['count']} {_words(d.get('source'))} events")
        return [(what, size, "bold" if d.get("harm") else "normal", colour),
                (_span(d.get("date"), d.get("date_to")), size, "normal", colour)]
    return [(f"{_words(d.get('source'))}: {_words(d.get('event_type'))}", size, "bold" if d.get("harm") else "normal",
             colour), (str(d.get("date") or ""), size, "normal", colour)]


# -- the picture ---------------------------------------------------------------------------------

def to_svg(g: nx.MultiGraph, title: str = "", width: int = 1400, height: int = 1000) -> str:
    """A self-contained SVG: legend, people by class (shape and colour), harm in red, dates by the
    events and on lived-at links, households as houses, events as diamonds (events tying the same
    people counted in one), collapsed groups as counted boxes. ``width``/``height`` are the least
    size: the page grows with the network."""
    e_ = html.escape
    d_g, _ = _display(g)
    pos = _positions(d_g)
    nodes = sorted(d_g)
    order = {"household": 0, "group": 1, "event": 2, "bundle": 2, "person": 3}
    # node shapes are obstacles for labels
    shape_box = {}
    for n in nodes:
        x, y = pos[n]
        d = d_g.nodes[n]
        r = _node_radius(d) if d.get("type") != "group" else 13.0
        rx = _node_radius(d) if d.get("type") == "group" else r
        shape_box[n] = (x - rx - 2, y - r - 2, x + rx + 2, y + r + 2)
    labels = _Labels([shape_box[n] for n in nodes])
    prio = sorted(nodes, key=lambda n: (not d_g.nodes[n].get("centre"), d_g.nodes[n].get("type") != "person",
                                        not d_g.nodes[n].get("harm"), order.get(d_g.nodes[n].get("type"), 9), n))
    for n in prio:
        d = d_g.nodes[n]
        t = d.get("type")
        x, y = pos[n]
        if t == "person":
            lines = _person_lines(d)
        elif t in ("event", "bundle"):
            lines = _event_lines(d)
        elif t == "household":
            lines = [(str(d.get("label")), 9.5, "normal", "#1b5e20")]
        elif d.get("date"):
            lines = [(_span(d.get("date"), d.get("date_to")), 9.5, "normal", "#444")]
        else:
            continue
        w = max(_text_w(s, z, wt == "bold") for s, z, wt, _ in lines)
        h = sum(z * 1.2 for _, z, _, _ in lines)
        r = (shape_box[n][3] - shape_box[n][1]) / 2
        if t == "group":  # dates under the counted box
            cands = [(x, y + r + 2 + h / 2), (x, y - r - 2 - h / 2)] + _around(x, y, _node_radius(d), w, h)
        else:
            cands = _around(x, y, r, w, h)
        labels.add(lines, cands, shape_box[n])
    edges = sorted(d_g.edges(data=True), key=lambda r: (r[0], r[1]))
    for a, b, d in edges:  # the lived-at dates on their links
        if d.get("kind") != "lived_at" or not d.get("date"):
            continue
        (x1, y1), (x2, y2) = pos[a], pos[b]
        ln = max(1e-9, math.hypot(x2 - x1, y2 - y1))
        nx_, ny_ = -(y2 - y1) / ln, (x2 - x1) / ln
        cands = [(x1 + (x2 - x1) * f + nx_ * o, y1 + (y2 - y1) * f + ny_ * o)
                 for f in (0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8) for o in (0.0, 9.0, -9.0, 18.0, -18.0)]
        labels.add([(_span(d.get("date"), d.get("date_to")), 9.0, "normal", "#2e7d32")], cands)
    # page: content box, then the legend to its right
    boxes = list(shape_box.values()) + [b for b, _ in labels.placed] or [(0.0, 0.0, 0.0, 0.0)]
    minx, miny = min(b[0] for b in boxes), min(b[1] for b in boxes)
    maxx, maxy = max(b[2] for b in boxes), max(b[3] for b in boxes)
    pad, top, legend_w = 40, 100, 350
    legend_h = 30 + 26 * 16
    page_w = int(max(width, maxx - minx + 2 * pad + legend_w, _text_w(title, 22, True) + 2 * pad))
    page_h = int(max(height, maxy - miny + top + pad, top + legend_h + pad))
    ox = pad - minx + max(0.0, (page_w - legend_w - 2 * pad - (maxx - minx)) / 2)
    oy = top - miny + max(0.0, (page_h - top - pad - (maxy - miny)) / 2)

    def P(n: str) -> tuple[float, float]:
        return pos[n][0] + ox, pos[n][1] + oy

    n_people = sum(1 for _, d in g.nodes(data=True) if d.get("type") == "person")
    n_events = sum(1 for _, d in g.nodes(data=True) if d.get("type") == "event")
    n_harm = sum(1 for _, d in g.nodes(data=True) if d.get("type") == "event" and d.get("harm"))
    n_house = sum(1 for _, d in g.nodes(data=True) if d.get("type") == "household")
    halo = ' stroke="white" stroke-width="3" stroke-linejoin="round" paint-order="stroke"'
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{page_w}" height="{page_h}" '
           f'viewBox="0 0 {page_w} {page_h}" font-family="Arial, Helvetica, sans-serif">',
           f'<rect width="{page_w}" height="{page_h}" fill="white"/>',
           f'<text x="{pad}" y="40" font-size="22" font-weight="bold">{e_(title)}</text>',
           f'<text x="{pad}" y="68" font-size="14" fill="#444">People {n_people}, events {n_events} '
           f'({n_harm} with harm), households {n_house}. Red = harm. Dates by each event and on lived-at links; '
           f'hover a link for the role.</text>']
    for a, b, d in edges:
        (x1, y1), (x2, y2) = P(a), P(b)
        colour, sw, dash, _ = EDGE_STYLE[d["kind"]]
        da = f' stroke-dasharray="{dash}"' if dash else ""
        la, lb = str(d_g.nodes[a].get("label") or a), str(d_g.nodes[b].get("label") or b)
        out.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{colour}" '
                   f'stroke-width="{sw}"{da}><title>{e_(la)} – {e_(lb)}: {e_(d.get("tip") or "")}</title></line>')
    for n in sorted(nodes, key=lambda n: (order.get(d_g.nodes[n].get("type"), 9), n)):
        d = d_g.nodes[n]
        x, y = P(n)
        t = d.get("type")
        tip = e_(str(d.get("label") or n))
        if t == "person":
            fill, shape, _ = CLASS_STYLE[d["cls"]]
            r = _node_radius(d)
            stroke = ' stroke="black" stroke-width="4"' if d.get("centre") else ' stroke="white" stroke-width="1.5"'
            if shape == "square":
                out.append(f'<rect x="{x - r:.1f}" y="{y - r:.1f}" width="{2 * r:.0f}" height="{2 * r:.0f}" fill="{fill}"{stroke}>'
                           f'<title>{tip}</title></rect>')
            elif shape == "triangle":
                out.append(f'<polygon points="{x:.1f},{y - r * 1.2:.1f} {x - r:.1f},{y + r * 0.8:.1f} '
                           f'{x + r:.1f},{y + r * 0.8:.1f}" fill="{fill}"{stroke}><title>{tip}</title></polygon>')
            else:
                out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.0f}" fill="{fill}"{stroke}><title>{tip}</title></circle>')
        elif t == "household":
            out.append(f'<polygon points="{x:.1f},{y - 14:.1f} {x - 12:.1f},{y - 3:.1f} {x - 12:.1f},{y + 10:.1f} '
                       f'{x + 12:.1f},{y + 10:.1f} {x + 12:.1f},{y - 3:.1f}" fill="#2ca02c" stroke="white">'
                       f'<title>household {tip}</title></polygon>')
        elif t in ("event", "bundle"):
            s = _node_radius(d)
            fill = "#d62728" if d.get("harm") else "#bbbbbb"
            tips = d.get("tips") or [str(d.get("label"))]
            out.append(f'<polygon points="{x:.1f},{y - s:.1f} {x + s:.1f},{y:.1f} {x:.1f},{y + s:.1f} {x - s:.1f},{y:.1f}" '
                       f'fill="{fill}" stroke="#333" stroke-width="0.8"><title>{e_("; ".join(tips))}</title></polygon>')
            if t == "bundle":
                out.append(f'<text x="{x:.1f}" y="{y + 4:.1f}" font-size="11" font-weight="bold" text-anchor="middle" '
                           f'fill="{"white" if d.get("harm") else "#111"}">{d["count"]}</text>')
        else:  # group
            w = 2 * _node_radius(d)
            fill = "#fde0dc" if d.get("harm") else "#eeeeee"
            out.append(f'<rect x="{x - w / 2:.1f}" y="{y - 13:.1f}" width="{w:.1f}" height="26" rx="8" fill="{fill}" '
                       f'stroke="#555" stroke-dasharray="3,2"><title>{e_(", ".join(map(str, d.get("members") or [])))}</title></rect>')
            out.append(f'<text x="{x:.1f}" y="{y + 5:.1f}" font-size="12" text-anchor="middle">{tip}</text>')
    for (x0, y0, x1, y1), lines in reversed(labels.placed):  # the first placed (people) on top
        cx = (x0 + x1) / 2 + ox
        y = y0 + oy
        for text, size, weight, colour in lines:
            y += size * 1.2
            bold = ' font-weight="bold"' if weight == "bold" else ""
            out.append(f'<text x="{cx:.1f}" y="{y - size * 0.28:.1f}" font-size="{size}"{bold} fill="{colour}" '
                       f'text-anchor="middle"{halo}>{e_(text)}</text>')
    out.extend(_legend(page_w - legend_w + 10, top, legend_w - 30))
    out.append("</svg>")
    return "\n".join(out)


def _legend(lx: float, ly: float, w: float) -> list[str]:
    e_ = html.escape
    items: list[tuple[str, str, str]] = [(CLASS_STYLE[c][0], CLASS_STYLE[c][1], CLASS_STYLE[c][2])
                                         for c in ("victim", "suspect", "child", "other")]
    items += [("#1f3b73", "centre", "thick outline: the person asked about"),
              ("#2ca02c", "house", "household"), ("#d62728", "diamond", "event with harm"),
              ("#bbbbbb", "diamond", "other event"),
              ("#d62728", "bundle", "n events tying the same people (date range)"),
              ("#eeeeee", "box", "collapsed group (count)")]
    items += [(EDGE_STYLE[k][0], "line:" + k, EDGE_STYLE[k][3]) for k in ("harm", "offender", "role", "lived_at",
                                                                          "happened_at", "group")]
    h = 36 + len(items) * 26
    out = [f'<rect x="{lx - 10}" y="{ly - 30}" width="{w}" height="{h}" fill="#fafafa" stroke="#ccc"/>',
           f'<text x="{lx}" y="{ly - 8}" font-size="15" font-weight="bold">Legend</text>']
    for i, (fill, shape, text) in enumerate(items):
        y = ly + 16 + i * 26
        if shape == "square":
            out.append(f'<rect x="{lx}" y="{y - 9}" width="18" height="18" fill="{fill}"/>')
        elif shape == "triangle":
            out.append(f'<polygon points="{lx + 9},{y - 10} {lx},{y + 8} {lx + 18},{y + 8}" fill="{fill}"/>')
        elif shape == "centre":
            out.append(f'<rect x="{lx + 1}" y="{y - 8}" width="16" height="16" fill="{fill}" stroke="black" stroke-width="3"/>')
        elif shape == "house":
            out.append(f'<polygon points="{lx + 9},{y - 10} {lx},{y - 2} {lx},{y + 9} {lx + 18},{y + 9} {lx + 18},{y - 2}" fill="{fill}"/>')
        elif shape == "diamond":
            out.append(f'<polygon points="{lx + 9},{y - 9} {lx + 18},{y} {lx + 9},{y + 9} {lx},{y}" fill="{fill}" stroke="#333"/>')
        elif shape == "bundle":
            out.append(f'<polygon points="{lx + 9},{y - 11} {lx + 20},{y} {lx + 9},{y + 11} {lx - 2},{y}" fill="{fill}" stroke="#333"/>'
                       f'<text x="{lx + 9}" y="{y + 4}" font-size="10" font-weight="bold" fill="white" text-anchor="middle">4</text>')
        elif shape == "box":
            out.append(f'<rect x="{lx}" y="{y - 9}" width="18" height="18" rx="4" fill="{fill}" stroke="#555" stroke-dasharray="3,2"/>')
        elif shape.startswith("line:"):
            _, sw, dash, _ = EDGE_STYLE[shape[5:]]
            da = f' stroke-dasharray="{dash}"' if dash else ""
            out.append(f'<line x1="{lx - 2}" y1="{y}" x2="{lx + 20}" y2="{y}" stroke="{fill}" stroke-width="{sw}"{da}/>')
        else:
            out.append(f'<circle cx="{lx + 9}" cy="{y}" r="9" fill="{fill}"/>')
        out.append(f'<text x="{lx + 28}" y="{y + 5}" font-size="12.5">{e_(text)}</text>')
    return out
