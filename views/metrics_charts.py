"""The hub metrics as pictures: one static SVG chart per metric, drawn with matplotlib.

No pyplot (its global state is not safe across the API's threads): a Figure of our own each time,
the Agg-free SVG backend, text kept as text (smaller, searchable, prints sharply), no date stamp
(the same report gives the same bytes). A suppressed value is not drawn; the table under the
chart shows it as suppressed.
"""

from __future__ import annotations

import io
from typing import Any

from matplotlib import rcParams
from matplotlib.figure import Figure

rcParams["svg.fonttype"] = "none"
rcParams["svg.hashsalt"] = "mash-intel-metrics"

# colour-blind safe (Okabe-Ito), then greys
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
           "#999999", "#666666", "#BBBBBB")
RAG = {"red": "#C0392B", "amber": "#E69F00", "green": "#2E8B57", "blue": "#0072B2", "not recorded": "#999999"}


def _colour(name: str, i: int) -> str:
    return RAG.get(name, PALETTE[i % len(PALETTE)])


def _label(name: str) -> str:
    return str(name).replace("_", " ")


def chart_svg(metric: dict[str, Any], periods: list[str]) -> str | None:
    """The metric's chart as an inline SVG element, or None (no chart for it, or nothing to draw)."""
    spec = metric.get("chart") or {}
    kind = spec.get("kind")
    if not metric.get("available") or kind in (None, "none") or not metric["rows"] or not periods:
        return None
    columns = {c["name"]: c for c in metric["columns"]}
    fig = Figure(figsize=(9.0, 3.1), dpi=96)
    ax = fig.subplots()
    x = list(range(len(periods)))
    pos = {p: i for i, p in enumerate(periods)}
    series_col = spec.get("series")
    if kind == "stacked":
        y = spec["y"][0]
        cats = [c for c in dict.fromkeys(r[series_col] for r in metric["rows"]) if c != "all"]
        bottom = [0.0] * len(periods)
        for i, cat in enumerate(cats):
            vals = [0.0] * len(periods)
            for r in metric["rows"]:
                if r[series_col] == cat and r.get(y) is not None:
                    vals[pos[r["period"]]] = float(r[y])
            if not any(vals):
                continue
            ax.bar(x, vals, bottom=bottom, color=_colour(cat, i), label=_label(cat), width=0.7)
            bottom = [b + v for b, v in zip(bottom, vals)]
        ax.set_ylabel(columns[y]["label"])
    elif kind == "lines":
        lines = ([(s, y) for s in dict.fromkeys(r[series_col] for r in metric["rows"]) if s != "all" for y in spec["y"]]
                 if series_col else [(None, y) for y in spec["y"]])
        for i, (s, y) in enumerate(lines):
            pts = [(pos[r["period"]], r[y]) for r in metric["rows"]
                   if (s is None or r[series_col] == s) and r.get(y) is not None]
            if not pts:
                continue
            label = _label(s) if s is not None else columns[y]["label"].replace("Share to ", "to ")
            ax.plot([p for p, _ in pts], [v * 100 if columns[y]["kind"] == "share" else v for _, v in pts],
                    marker="o", color=_colour(s or "", i), label=label)
        if all(columns[y]["kind"] == "share" for y in spec["y"]):
            ax.set_ylabel("per cent")
            ax.set_ylim(0, 100)
    elif kind == "bars":
        width = 0.8 / max(1, len(spec["y"]))
        for i, y in enumerate(spec["y"]):
            vals = [0.0] * len(periods)
            for r in metric["rows"]:
                if r.get(y) is not None:
                    vals[pos[r["period"]]] = float(r[y])
            ax.bar([v + (i - (len(spec["y"]) - 1) / 2) * width for v in x], vals, width=width,
                   color=PALETTE[i], label=columns[y]["label"])
    else:
        return None
    ax.set_xticks(x, periods, rotation=45 if len(periods) > 8 else 0, ha="right" if len(periods) > 8 else "center")
    ax.set_xlim(-0.6, len(periods) - 0.4)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    handles, _ = ax.get_legend_handles_labels()
    if not handles:
        return None
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8)
    fig.subplots_adjust(left=0.08, right=0.76, bottom=0.22 if len(periods) > 8 else 0.12, top=0.95)
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    svg = buf.getvalue()
    return svg[svg.index("<svg"):]
