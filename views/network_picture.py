"""The network view as a picture for the meeting: graphs.network_dot's DOT source laid out by
Graphviz (``dot``, the Debian ``graphviz`` package, through the ``graphviz`` Python package), then
finished for the page: it scales to its container (``viewBox``, width 100%), prints on one A4
landscape page, and its hover text is words (Graphviz titles each element with its node id; those
are replaced by the tooltips, so no internal id is shown).

Graphviz's layout takes 27-280 ms a picture at 1.1M mentions, so laid-out SVGs are kept (the
last LAYOUTS_KEPT) keyed by their whole DOT source: the source is everything the layout depends
on (the people, links, households and words a role may see, at this store state, for this lens),
so a repeat view is served from memory and any change of state, lens or role is another key.
A layout that fails is not kept."""

from __future__ import annotations

import html
import re
from functools import lru_cache

import graphviz
import networkx as nx

from core.errors import IntelError
from graphs.network_dot import to_dot

_TITLE = re.compile(r"<title>([^<]*)</title>")
PRINT_STYLE = ("<style>@page { size: A4 landscape; margin: 8mm; } "
               "@media print { svg { width: 100%; height: auto; max-height: 190mm; } }</style>")
LAYOUTS_KEPT = 128   # a few MiB: one picture's SVG is tens of KiB


def picture(g: nx.MultiGraph, title: str, places: dict[str, str]) -> str:
    """The SVG (module docstring). ``places``: household key -> address in words."""
    dot, tips = to_dot(g, title, places)
    return finish(layout(dot), tips)


@lru_cache(maxsize=LAYOUTS_KEPT)
def layout(dot: str) -> str:
    """The DOT source laid out by Graphviz's fdp, as SVG; kept per source (module docstring)."""
    try:
        return graphviz.Source(dot, engine="fdp").pipe(format="svg", encoding="utf-8")
    except (graphviz.ExecutableNotFound, graphviz.CalledProcessError) as exc:
        raise IntelError(f"the network picture needs Graphviz's dot (apt install graphviz): {exc}") from exc


def finish(svg: str, tips: dict[str, str]) -> str:
    """Scale to the container, print on A4 landscape, hover text in words."""
    svg = svg[svg.index("<svg"):]                                  # no XML prolog or DOCTYPE
    svg = re.sub(r'<svg width="[^"]*" height="[^"]*"',
                 '<svg width="100%" style="max-height: 96vh" preserveAspectRatio="xMidYMin meet"', svg, count=1)

    def title(m: re.Match[str]) -> str:
        raw = html.unescape(m.group(1))
        if raw in tips:
            return f"<title>{html.escape(tips[raw])}</title>"
        ends = re.split(r"--|->", raw)
        if len(ends) == 2 and all(e in tips for e in ends):
            return f"<title>{html.escape(tips[ends[0]] + ' - ' + tips[ends[1]])}</title>"
        return "<title></title>" if re.fullmatch(r"n\d+|cluster_\d+|network|%\d+", raw) else m.group(0)

    svg = _TITLE.sub(title, svg)
    return svg.replace(">", ">" + PRINT_STYLE, 1)
