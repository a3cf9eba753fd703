"""A chronology in the formats that leave the hub (CSV for a spreadsheet, printable HTML): always
built from the export view, which drops hub_only entries and whatever only hub_only rows support."""

from __future__ import annotations

import csv
import html
import io
from datetime import date
from typing import Any

from access.lens import Lens, screen_alerts
from core.spreadsheet_cells import neutralise
from findings.describe import with_postcode
from views.chronology_entries import references_text


def export_view(chron: dict[str, Any]) -> dict[str, Any]:
    """The chronology with everything only hub_only rows support removed (a no-op for one built
    with export=True). Counts in the header are recounted from what is left."""
    if chron.get("export"):
        return chron
    events = [e for e in chron["events"] if e.get("restriction") != "hub_only"]
    key = "person" if "person" in chron else "household"
    h = dict(chron[key])
    # Aliases and addresses are shown only as the shareable records support them: dates, text and
    # counts recomputed without hub_only rows (a spell's first date may come from one).
    h["aliases"] = [{**a, **a["shared"], "restrictions": [r for r in a["restrictions"] if r != "hub_only"],
                     "shared": None} for a in h["aliases"] if a.get("shared")]
    h["addresses"] = [{**a, **a["shared"], "restrictions": [r for r in a["restrictions"] if r != "hub_only"],
                       "shared": None} for a in h["addresses"] if a.get("shared")]
    real = [e for e in events if e["kind"] == "event"]
    counts: dict[str, int] = {}
    for e in real:
        counts[e["source"]] = counts.get(e["source"], 0) + 1
    h["counts_by_agency"] = dict(sorted(counts.items()))
    w = h.get("harm_window") or {}
    h["harm_events_last_12_months"] = sum(1 for e in real if e.get("harm") and w.get("from", "") <= e["event_date"][:10] <= w.get("to", "9999"))
    h["first_seen"] = min((e["event_date"][:10] for e in real), default=None)
    h["last_seen"] = max((e["event_date"][:10] for e in real), default=None)
    # an alert resting on a hub-only record is left out (a "withheld" note would itself say one exists)
    h["open_alerts"] = screen_alerts(h.get("open_alerts", []),
                                     Lens.of(health_clearance=chron.get("viewer", {}).get("health_clearance", True),
                                             export=True))
    h["header_note"] = "export: hub-only records removed; counts are of the entries shown"
    return {**chron, key: h, "events": events, "export": True}


CSV_COLUMNS = ("event_date", "kind", "source", "event_type", "derived_type", "role", "summary", "others",
               "household_key", "harm", "dash_risk", "initial_rag", "final_rag", "outcome", "presentation",
               "decision_date", "timescale", "timescale_met", "link_probability", "confirmed", "restriction",
               "event_key", "mention_ids")


def _cell(e: dict[str, Any], col: str) -> str:
    if col == "others":
        # words, not codes: the name as that record gave it, the role, the id only as a reference
        return "; ".join(f"{o.get('name') or 'name not recorded'} ({(o['role'] or '').replace('_', ' ')}; {o['person_id']})"
                         for o in e.get("others") or [])
    if col == "timescale":
        t = e.get("timescale")
        return t["timescale"] if t else ""
    if col == "timescale_met":
        t = e.get("timescale")
        return "" if not t or t["met"] is None else ("met" if t["met"] else "missed")
    if col == "link_probability":
        p = (e.get("link") or {}).get("probability")
        return "" if p is None else f"{p:.3f}"
    if col == "confirmed":
        return "confirmed" if (e.get("link") or {}).get("confirmed") else ""
    if col == "mention_ids":
        return ";".join(e.get("mention_ids") or [])
    if col == "role" and e.get("household_members"):
        return "; ".join(f"{m['person_id']} ({m['role']})" for m in e["household_members"])
    v = e.get(col)
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else ""
    return str(v)


def to_csv(chron: dict[str, Any]) -> str:
    """The entries as CSV, one row each (hub_only removed; cells a spreadsheet would run as a
    formula neutralised: core/spreadsheet_cells.py)."""
    chron = export_view(chron)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for e in chron["events"]:
        w.writerow([neutralise(_cell(e, c)) for c in CSV_COLUMNS])
    return buf.getvalue()


def to_html(chron: dict[str, Any]) -> str:
    """A printable page for a case file (hub_only removed)."""
    chron = export_view(chron)
    key = "person" if "person" in chron else "household"
    h = chron[key]
    esc = html.escape
    if key == "person":
        names = [a["name"] for a in h.get("aliases") or [] if a.get("person_id") == h["person_id"] and a.get("name")]
        title = f"Chronology of {names[0]} ({h['person_id']})" if names else f"Chronology of {h['person_id']}"
    else:
        where = next((a.get("address") for a in h.get("addresses") or [] if a.get("address")), None)
        title = f"Chronology of the household at {where}" if where else f"Chronology of household {h['household_key']}"
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{esc(title)}</title><style>",
        "body{font-family:Arial,sans-serif;font-size:10pt;margin:1.5cm}h1{font-size:14pt}h2{font-size:11pt}"
        "table{border-collapse:collapse;width:100%}td,th{border:1px solid #999;padding:3px;vertical-align:top;text-align:left}"
        "th{background:#eee}tr.harm td{background:#fdecea}tr.derived td{font-style:italic;background:#f5f5f5}"
        ".missed{color:#b00;font-weight:bold}@media print{tr{page-break-inside:avoid}}",
        "</style></head><body>",
        f"<h1>{esc(title)}</h1><p>OFFICIAL-SENSITIVE. Produced {esc(date.today().isoformat())}. "
        "Hub-only records are not included in this export.</p>",
    ]
    if h.get("note"):
        parts.append(f"<p><strong>{esc(h['note'])}</strong></p>")
    if key == "household":
        parts.append(f"<p>Members: {esc(', '.join(h['members']))}</p>")
    parts.append("<h2>Summary</h2><table>")
    parts.append(f"<tr><th>First seen</th><td>{esc(str(h['first_seen']))}</td><th>Last seen</th><td>{esc(str(h['last_seen']))}</td></tr>")
    counts = ", ".join(f"{s}: {n}" for s, n in h["counts_by_agency"].items())
    parts.append(f"<tr><th>Events by agency</th><td>{esc(counts)}</td>"
                 f"<th>Harm events, 12 months to {esc((h.get('harm_window') or {}).get('to', ''))}</th>"
                 f"<td>{h['harm_events_last_12_months']}</td></tr></table>")
    parts.append("<h2>Names and dates of birth recorded</h2><table><tr><th>Person</th><th>Name</th><th>Date of birth</th><th>Agencies</th><th>Records</th></tr>")
    for a in h["aliases"]:
        shown = a["name"] or references_text(a.get("references") or [])
        parts.append(f"<tr><td>{esc(a['person_id'])}</td><td>{esc(shown)}</td><td>{esc(a['dob'] or '')}</td>"
                     f"<td>{esc(', '.join(a['sources']))}</td><td>{a['records']}</td></tr>")
    parts.append("</table><h2>Addresses over time</h2><table><tr><th>Person</th><th>Address</th><th>Postcode</th><th>From</th><th>To</th></tr>")
    for a in h["addresses"]:
        parts.append(f"<tr><td>{esc(a['person_id'])}</td><td>{esc(a['address'] or a['household_key'])}</td>"
                     f"<td>{esc(a['postcode'] or '')}</td><td>{esc(a['first_seen'])}</td><td>{esc(a['last_seen'])}</td></tr>")
    parts.append("</table><h2>Open alerts</h2>")
    if h.get("open_alerts"):
        parts.append("<table><tr><th>Alert</th><th>Rule</th><th>Severity</th><th>Raised</th><th>Status</th><th>Why</th></tr>")
        for a in h["open_alerts"]:
            parts.append(f"<tr><td>{esc(a['alert_id'])}</td><td>{esc(a['rule'])}</td><td>{esc(a['severity'])}</td>"
                         f"<td>{esc(str(a['raised_at']))[:16]}</td><td>{esc(a['status'])}</td><td>{esc(a['explanation'])}</td></tr>")
        parts.append("</table>")
    else:
        parts.append("<p>None.</p>")
    parts.append("<h2>Chronology</h2><table><tr><th>Date</th><th>Agency</th><th>Event</th><th>Role</th><th>Others</th>"
                 "<th>Household</th><th>Grading / outcome</th><th>Timescale</th><th>Link</th></tr>")
    # each household by the address its records give (words, not keys: the header's addresses)
    where = {a["household_key"]: with_postcode(a["address"], a["postcode"])
             for a in h["addresses"] if a.get("address") or a.get("postcode")}
    for e in chron["events"]:
        cls = "derived" if e["kind"] == "derived" else ("harm" if e.get("harm") else "")
        what = e.get("summary") if e["kind"] == "derived" or e.get("restricted") else e.get("event_type")
        grading = "; ".join(f"{k.replace('_', ' ')}: {e[k]}" for k in ("dash_risk", "initial_rag", "final_rag", "outcome", "presentation")
                            if e.get(k))
        ts = e.get("timescale")
        ts_cell = "" if not ts else (f"{ts['timescale']}: " + ("no decision recorded" if ts["met"] is None else
                                                               ("met" if ts["met"] else "<span class='missed'>missed</span>")))
        link = _cell(e, "link_probability")
        if _cell(e, "confirmed"):
            link = (link + " confirmed").strip()
        parts.append(
            f"<tr class='{cls}'><td>{esc(e['event_date'][:16].replace('T', ' '))}</td><td>{esc((e.get('source') or '').replace('_', ' '))}</td>"
            f"<td>{esc(what or '')}</td><td>{esc(_cell(e, 'role'))}</td><td>{esc(_cell(e, 'others'))}</td>"
            f"<td>{esc(where.get(e.get('household_key'), e.get('household_key') or ''))}</td><td>{esc(grading)}</td>"
            f"<td>{ts_cell}</td><td>{esc(link)}</td></tr>")
    parts.append("</table></body></html>")
    return "\n".join(parts)
