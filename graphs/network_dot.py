"""A network view as a Graphviz picture for the meeting (pure: the view graph in, DOT source out;
views/network_picture.py runs Graphviz and finishes the SVG).

What it draws, so that 20-60 people read on one A4 landscape page:

- **households as clusters**: a boxed area titled with the address as recorded; each person sits
  in the household they were recorded at most (their other homes are dashed "also lived at" lines
  to that household's box);
- **people** as boxes in words (name, age, what the records make them: victim, suspect, child),
  the person the view is about in bold;
- **events of one kind grouped**: the events a set of people share, of one kind (e.g. three
  domestic-abuse incidents between the same two people), are one node "3 × domestic abuse
  (03/2021 - 11/2024)"; harm in red;
- **no internal ids**: nodes are ``n1, n2 ...``; ``tooltips`` maps each to its words (the SVG's
  hover text), never a person id, record id or household key.
"""

from __future__ import annotations

from typing import Any

import networkx as nx

CLASS_FILL = {"victim": "#fde2e2", "suspect": "#e3e7f7", "child": "#fff4cc", "other": "#f2f2f2"}
KEY = ("\nboxes: people (harmed, suspect, child in words); shaded areas: households, titled with the address; "
       "ovals: events they shared; red: someone was harmed")
CLASS_WORD = {"victim": "harmed", "suspect": "suspect / alleged perpetrator", "child": "child", "other": ""}


def _q(text: str) -> str:
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _month(iso: str | None) -> str:
    return f"{iso[5:7]}/{iso[:4]}" if iso else "?"


def _span(first: str | None, last: str | None) -> str:
    a, b = _month(first), _month(last)
    return a if a == b else f"{a} - {b}"


def _events_by_kind(g: nx.MultiGraph) -> dict[tuple[frozenset[str], str], list[dict[str, Any]]]:
    """Events (and groups the view graph already made) by the people in them and their kind."""
    kinds: dict[tuple[frozenset[str], str], list[dict[str, Any]]] = {}
    for n, d in g.nodes(data=True):
        if d.get("type") not in ("event", "group") or d.get("type") == "group" and "classes" in d:
            continue
        people = frozenset(x for x in g.neighbors(n) if g.nodes[x].get("type") == "person")
        kind = (d.get("event_type") or d.get("label", "events").split(" ", 1)[-1]).replace("_", " ")
        count = int(d.get("count", 1))
        kinds.setdefault((people, kind), []).append(
            {"count": count, "harm": bool(d.get("harm")), "first": d.get("date"), "last": d.get("date_to") or d.get("date"),
             "source": (d.get("source") or "").replace("_", " "), "harm_count": d.get("harm_count", int(bool(d.get("harm"))))})
    return kinds


def to_dot(g: nx.MultiGraph, title: str, places: dict[str, str]) -> tuple[str, dict[str, str]]:
    """DOT source for the view graph and ``{node id: hover text}``. ``places``: household key ->
    the address in words (a key without one is "an address not recorded")."""
    ids: dict[str, str] = {}
    tips: dict[str, str] = {}

    def nid(key: str) -> str:
        return ids.setdefault(key, f"n{len(ids) + 1}")

    people = {n: {**d, "label": d["label"] if d["label"] != d.get("person_id") else "name not recorded"}
              for n, d in g.nodes(data=True) if d.get("type") == "person"}
    kinds = sorted(_events_by_kind(g).items(), key=lambda kv: (sorted(kv[0][0]), kv[0][1]))
    for p, line in _alone_lines(kinds).items():
        people[p]["alone"] = line
    lived: dict[str, list[tuple[int, str]]] = {}
    for a, b, d in g.edges(data=True):
        if d.get("role") == "lived_at":
            p, h = (a, b) if g.nodes[a].get("type") == "person" else (b, a)
            lived.setdefault(p, []).append((int(d.get("mentions") or 1), h))
    home = {p: sorted(hs, key=lambda x: (-x[0], x[1]))[0][1] for p, hs in lived.items()}
    lines = ["graph network {",
             f"  graph [label={_q(title + KEY)}, labelloc=t, fontsize=16, fontname=\"Helvetica\", "
             "compound=true, K=0.15, sep=\"+4\", overlap=false, splines=true, pad=0.2, ratio=0.7, tooltip=\" \"];",
             "  node [fontname=\"Helvetica\", fontsize=14, shape=box, style=\"rounded,filled\", penwidth=1.2];",
             "  edge [color=\"#777777\", penwidth=1.1];"]
    # households: clusters with their residents, and an anchor for lines to the household
    for i, h in enumerate(sorted({hh for hh in home.values()} | {x for hs in lived.values() for _, x in hs})):
        words = places.get(g.nodes[h].get("household_key", ""), "an address not recorded")
        lines.append(f"  subgraph cluster_{i} {{ label={_q(words)}; style=\"rounded,filled\"; fillcolor=\"#f7f9fc\"; "
                     f"color=\"#9aa7b8\"; fontsize=14; tooltip={_q('Household: ' + words)};")
        anchor = nid(h)
        tips[anchor] = f"Household: {words}"
        lines.append(f"    {anchor} [shape=point, style=invis, width=0.01, label=\"\"];")
        for p, d in people.items():
            if home.get(p) == h:
                lines.append(f"    {_person(nid(p), d, tips)}")
        lines.append("  }")
    for p, d in people.items():
        if p not in home:
            lines.append(f"  {_person(nid(p), d, tips)}")
    # other homes: a dashed line to that household's box
    for p, hs in lived.items():
        for _, h in hs:
            if h != home[p]:
                words = places.get(g.nodes[h].get("household_key", ""), "an address not recorded")
                lines.append(f"  {nid(p)} -- {nid(h)} [style=dashed, lhead=cluster_{_cluster_of(h, home, lived)}, "
                             f"tooltip={_q(people[p]['label'] + ' also lived at ' + words)}];")
    # events: those a person was in alone are one node per person, a line per kind with its count;
    # events shared by the same people are one node per kind, with a count
    for i, ((who, kind), evs) in enumerate(kinds):
        if len(who) == 1:
            continue
        n, harm, first, last, sources = _tally(evs)
        label = (f"{n} × {kind}" if n > 1 else kind) + f"\n{_span(first, last)}"
        tip = (f"{n} {kind} event{'s' if n != 1 else ''} ({', '.join(sources)}), {_span(first, last)}"
               + (f"; harm in {harm}" if harm else ""))
        _event_node(lines, tips, nid(f"kind:{i}"), label, tip, harm, sorted(who), nid, people)
    # (the events a person was in alone are a line in their box: people_lines above)
    # groups of people the view graph folded (many at the edge of the view)
    for n, d in g.nodes(data=True):
        if d.get("type") == "group" and "classes" in d:
            key = nid(n)
            tips[key] = f"{d['count']} more people, one step further out"
            lines.append(f"  {key} [shape=folder, label={_q(str(d['count']) + ' more people')}, tooltip={_q(tips[key])}];")
            for hub in g.neighbors(n):
                if hub in ids:
                    lines.append(f"  {ids[hub]} -- {key} [style=dotted];")
    lines.append("}")
    return "\n".join(lines) + "\n", tips


def _alone_lines(kinds: list[tuple[tuple[frozenset[str], str], list[dict[str, Any]]]]) -> dict[str, dict[str, Any]]:
    """Per person, the events they were in alone: ``{"text": "alone: 12 records, 3 × emergency department,
    2 × gp ...", "harm": n, "tip": every kind with its count}``."""
    solo: dict[str, list[tuple[str, int, int]]] = {}
    for (who, kind), evs in kinds:
        if len(who) == 1:
            n, harm, *_ = _tally(evs)
            solo.setdefault(next(iter(who)), []).append((kind, n, harm))
    out = {}
    for p, rows in solo.items():
        rows.sort(key=lambda r: (-r[1], r[0]))
        total, harm = sum(r[1] for r in rows), sum(r[2] for r in rows)
        top = ", ".join(f"{n} × {k}" if n > 1 else k for k, n, _ in rows[:2]) + (", ..." if len(rows) > 2 else "")
        out[p] = {"text": f"alone: {total} record{'s' if total != 1 else ''} ({top})", "harm": harm,
                  "tip": "; ".join(f"{n} {k}" for k, n, _ in rows) + (f"; harm in {harm}" if harm else "")}
    return out


def _tally(evs: list[dict[str, Any]]) -> tuple[int, int, str | None, str | None, list[str]]:
    """(events, harmful ones, first date, last date, agencies) of a list of event entries."""
    return (sum(e["count"] for e in evs), sum(e["harm_count"] or 0 for e in evs),
            min((e["first"] for e in evs if e["first"]), default=None),
            max((e["last"] for e in evs if e["last"]), default=None), sorted({e["source"] for e in evs if e["source"]}))


def _event_node(lines: list[str], tips: dict[str, str], key: str, label: str, tip: str, harm: int, who: list[str],
                nid: Any, people: dict[str, dict[str, Any]], shape: str = "ellipse") -> None:
    tips[key] = tip
    colour = "#c62828" if harm else "#555555"
    lines.append(f"  {key} [shape={shape}, style=filled, fillcolor=\"{'#fdecea' if harm else '#ffffff'}\", "
                 f"color=\"{colour}\", fontcolor=\"{colour}\", fontsize=12, label={_q(label)}, tooltip={_q(tip)}];")
    for p in who:
        lines.append(f"  {nid(p)} -- {key} [color=\"{colour}\", penwidth={2.2 if harm else 1.1}, "
                     f"tooltip={_q(people[p]['label'] + ': ' + tip)}];")


def _cluster_of(h: str, home: dict[str, str], lived: dict[str, list[tuple[int, str]]]) -> int:
    order = sorted({hh for hh in home.values()} | {x for hs in lived.values() for _, x in hs})
    return order.index(h)


def _person(key: str, d: dict[str, Any], tips: dict[str, str]) -> str:
    word = CLASS_WORD.get(d.get("cls", "other"), "")
    alone = d.get("alone")
    label = d["label"] + (f"\n{word}" if word else "") + (f"\n{alone['text']}" if alone else "")
    tip = (d["label"] + (f", {word}" if word else "") + (" (the person this view is about)" if d.get("centre") else "")
           + (f". Records of them alone: {alone['tip']}" if alone else ""))
    tips[key] = tip
    bold = ", penwidth=3, fontname=\"Helvetica-Bold\"" if d.get("centre") else ""
    return (f"{key} [label={_q(label)}, fillcolor=\"{CLASS_FILL.get(d.get('cls', 'other'), '#f2f2f2')}\"{bold}, "
            f"tooltip={_q(tip)}];")
