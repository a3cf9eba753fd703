"""The hub metrics report as people read it: a printable HTML page (each metric a chart with its
table under it, everything inline, nothing fetched), CSV in the long shape Excel and Power BI
read (one row per figure), or JSON (what findings/metrics.py returns).

Suppressed counts show as "c" (confidential, as official statistics mark them) in the HTML and
as an empty value with status "suppressed" in the CSV.
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
from pathlib import Path
from typing import Any

from core.errors import IntelError
from core.spreadsheet_cells import neutralise
from core.serialise import json_default
from views.metrics_charts import chart_svg

FORMATS = ("json", "csv", "html")
CSV_COLUMNS = ("metric", "section", "title", "period", "period_start", "period_end", "breakdown", "category",
               "measure", "measure_label", "unit", "value", "status")
_UNITS = {"count": "count", "share": "proportion (0-1)", "hours": "hours", "days": "working days",
          "seconds": "seconds", "value": ""}


def render(report: dict[str, Any], fmt: str) -> str:
    """The report in ``fmt`` (json, csv or html)."""
    if fmt == "json":
        return json.dumps(report, default=json_default, indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        return to_csv(report)
    if fmt == "html":
        return to_html(report)
    raise IntelError(f"--format {fmt!r} is not a report format; use one of: {', '.join(FORMATS)}")


def _dims(metric: dict[str, Any]) -> list[str]:
    return [c["name"] for c in metric["columns"] if c["kind"] == "dim"]


def to_csv(report: dict[str, Any]) -> str:
    """Long ("tidy") CSV: one figure a row, ISO dates, plain numbers, a byte-order mark so Excel
    reads it as UTF-8. Power BI and Excel pivot it by metric, period, category and measure. A
    category an agency sent (a referral source, say) is neutralised so no spreadsheet runs it."""
    spans = {p["label"]: p for p in report["report"]["periods"]}
    buf = io.StringIO()
    buf.write("\ufeff")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)
    for m in report["metrics"]:
        base = [m["id"], m["section"], neutralise(m["title"])]
        if not m["available"]:
            w.writerow([*base, "", "", "", "", "", "", "", "", "", "unavailable: " + (m["reason"] or "")])
            continue
        dims = _dims(m)
        for row in m["rows"]:
            span = spans.get(row.get("period"), {})
            breakdown = " / ".join(dims)
            category = " / ".join(str(row.get(d, "")) for d in dims)
            for c in m["columns"]:
                if c["kind"] in ("period", "dim"):
                    continue
                v = row.get(c["name"])
                status = "suppressed" if c["name"] in row.get("suppressed", []) else ("" if v is not None else "not applicable")
                w.writerow([*base, row.get("period", ""), span.get("start", ""), span.get("end", ""), breakdown,
                            neutralise(category), c["name"], c["label"], _UNITS.get(c["kind"], ""),
                            "" if v is None else v, status])
    return buf.getvalue()


def _cell(value: Any, kind: str, suppressed: bool) -> str:
    if suppressed:
        return "<td class='num c' title='suppressed: a small number'>c</td>"
    if value is None:
        return "<td class='num na'>–</td>"
    if kind == "share":
        return f"<td class='num'>{value * 100:.1f}%</td>"
    if kind in ("hours", "days", "seconds"):
        return f"<td class='num'>{value:,.1f}</td>"
    if isinstance(value, (int, float)):
        return f"<td class='num'>{value:,}</td>" if isinstance(value, int) else f"<td class='num'>{value:,.4g}</td>"
    return f"<td>{html.escape(str(value).replace('_', ' '))}</td>"


def _crosstab(m: dict[str, Any]) -> str | None:
    """A breakdown with one count (period x category) as people read it: a row per period, a
    column per category, the total last. None for any other shape."""
    cols = m["columns"]
    dims = [c for c in cols if c["kind"] == "dim"]
    values = [c for c in cols if c["kind"] not in ("period", "dim")]
    if len(dims) != 1 or len(values) != 1 or not any(c["kind"] == "period" for c in cols):
        return None
    dim, value = dims[0]["name"], values[0]
    cats = list(dict.fromkeys(r[dim] for r in m["rows"]))
    grid = {(r["period"], r[dim]): r for r in m["rows"]}
    head = "<th>Period</th>" + "".join(
        f"<th class='num'>{html.escape(str(c).replace('_', ' '))}</th>" for c in cats)
    body = []
    for period in dict.fromkeys(r["period"] for r in m["rows"]):
        cells = []
        for c in cats:
            r = grid.get((period, c), {})
            cell = _cell(r.get(value["name"]), value["kind"], value["name"] in r.get("suppressed", []))
            cells.append(cell.replace("<td class='num", "<td class='num total") if c == "all" else cell)
        body.append(f"<tr><td>{html.escape(period)}</td>{''.join(cells)}</tr>")
    return (f"<table><caption>{html.escape(value['label'])} by {html.escape(dims[0]['label'].lower())}</caption>"
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")


def _table(m: dict[str, Any]) -> str:
    crosstab = _crosstab(m)
    if crosstab is not None:
        return crosstab
    cols = m["columns"]
    head = "".join(f"<th class='{'num' if c['kind'] not in ('period', 'dim') else ''}'>{html.escape(c['label'])}</th>"
                   for c in cols)
    body = []
    for row in m["rows"]:
        cls = " class='total'" if any(row.get(c["name"]) == "all" for c in cols if c["kind"] == "dim") else ""
        cells = "".join(_cell(row.get(c["name"]), c["kind"], c["name"] in row.get("suppressed", [])) for c in cols)
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


_CSS = """
body{font-family:Arial,Helvetica,sans-serif;font-size:10pt;margin:1.2cm 1.5cm;color:#1b1b1b;max-width:1200px}
h1{font-size:16pt;margin:0 0 .2em}h2{font-size:13pt;border-bottom:2px solid #0072B2;padding-bottom:2px;margin-top:1.6em}
h3{font-size:11pt;margin:1.2em 0 .2em}p.def{color:#444;margin:.2em 0 .5em;max-width:60em}
.meta{color:#333}.meta td{padding:1px 12px 1px 0}.toc{columns:2;font-size:9.5pt;max-width:900px}
table{border-collapse:collapse;margin:.3em 0 1em;font-size:9pt}th,td{border:1px solid #bbb;padding:2px 6px;text-align:left}
th{background:#eef2f6}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}td.c{color:#8a5a00;font-style:italic}
td.na{color:#888}tr.total td,td.total{font-weight:bold;background:#f6f6f6}caption{text-align:left;font-size:8.5pt;color:#555;padding-bottom:2px}.unavailable{background:#fff4e5;border-left:4px solid #E69F00;padding:6px 10px}
.empty{background:#eef6ff;border-left:4px solid #0072B2;padding:6px 10px}figure{margin:0}svg{max-width:100%;height:auto}
.metric{page-break-inside:avoid;break-inside:avoid}
@media print{body{margin:0;font-size:9pt}h2{page-break-before:auto}.toc{display:none}a{color:inherit;text-decoration:none}}
"""


def to_html(report: dict[str, Any]) -> str:
    """A printable page: a header saying what it covers, then each metric as a chart with its table."""
    r = report["report"]
    esc = html.escape
    labels = [p["label"] for p in r["periods"]]
    partial = [p["label"] for p in r["periods"] if p["partial"]]
    parts = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
             f"<title>MASH performance metrics {esc(r['from'])} to {esc(r['to'])}</title>",
             f"<style>{_CSS}</style></head><body>",
             "<h1>MASH performance metrics</h1>",
             "<table class='meta'>"
             f"<tr><td>Period covered</td><td><b>{esc(r['from'])}</b> to <b>{esc(r['to'])}</b>, by {esc(r['by'])}"
             + (f" ({esc(', '.join(partial))} only in part)" if partial else "") + "</td></tr>"
             f"<tr><td>Latest event in the data</td><td>{esc(r.get('data_as_at') or 'none')}</td></tr>"
             f"<tr><td>Small numbers</td><td>counts from 1 to {r['small_count_threshold'] - 1} are shown as <i>c</i>, "
             "with what they could be worked out from</td></tr>"
             "<tr><td>Records</td><td>aggregates only; hub-only records are not counted"
             + ("" if r.get("health_detail", True) else "; health-confidential detail is not used") + "</td></tr>"
             "</table>"]
    if r.get("empty"):
        parts.append(f"<p class='empty'><b>No data for this period.</b> {esc(r.get('note') or '')}</p>")
    sections: dict[str, list[dict[str, Any]]] = {}
    for m in report["metrics"]:
        sections.setdefault(m["section"], []).append(m)
    parts.append("<div class='toc'><ol>" + "".join(
        f"<li><a href='#{esc(m['id'])}'>{esc(m['title'])}</a></li>" for m in report["metrics"]) + "</ol></div>")
    for section, metrics in sections.items():
        parts.append(f"<h2>{esc(section)}</h2>")
        for m in metrics:
            parts.append(f"<div class='metric' id='{esc(m['id'])}'><h3>{esc(m['title'])}</h3>"
                         f"<p class='def'>{esc(m['definition'])}</p>")
            if not m["available"]:
                parts.append(f"<p class='unavailable'>Not available: {esc(m['reason'] or '')}.</p></div>")
                continue
            svg = chart_svg(m, labels)
            if svg:
                parts.append(f"<figure>{svg}</figure>")
            elif m["chart"].get("kind") not in (None, "none"):
                parts.append("<p class='def'><i>No chart: every value in it is zero or suppressed.</i></p>")
            parts.append(_table(m) + "</div>")
    parts.append("<p class='def'>Definitions and sources of every metric: docs/metrics.md.</p></body></html>")
    return "\n".join(parts)


def write_report(report: dict[str, Any], text: str, out: Path, fmt: str) -> dict[str, Any]:
    """Write the rendered report to ``out`` whole (a temporary file renamed over it, so a reader
    never sees half a report) and say what was written."""
    out = Path(out)
    if out.is_dir():
        raise IntelError(f"--out {out} is a folder; give a file name, e.g. {out / ('metrics.' + fmt)}")
    if not out.parent.is_dir():
        raise IntelError(f"--out {out}: the folder {out.parent} does not exist")
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise IntelError(f"--out {out}: cannot write it ({exc.strerror})") from exc
    r = report["report"]
    return {"out": str(out), "format": fmt, "bytes": len(text.encode("utf-8")), "from": r["from"], "to": r["to"],
            "by": r["by"], "empty": r["empty"], "metrics": len(report["metrics"]),
            "unavailable": {m["id"]: m["reason"] for m in report["metrics"] if not m["available"]}}
