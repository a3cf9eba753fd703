"""What the person and household pages share: the chronology filters as the page's query gives
them (checked, with a message per field), and where each event sits on the timeline."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import Request

from web.pages import SOURCES


def parse_date(value: str | None, label: str, errors: dict[str, str], key: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        errors[key] = f"{label}: '{value[:20]}' is not a date; use the date picker or YYYY-MM-DD."
        return None


def chronology_filters(request: Request) -> tuple[dict[str, Any], dict[str, str], dict[str, Any]]:
    """(the API's query parameters, errors by field, the form's values) from the page's query."""
    qp = request.query_params
    errors: dict[str, str] = {}
    d_from = parse_date(qp.get("from"), "From", errors, "from")
    d_to = parse_date(qp.get("to"), "To", errors, "to")
    if d_from and d_to and d_from > d_to:
        errors["to"] = "To: the end date is before the start date."
    chosen = [s for s in qp.getlist("source") if s in SOURCES]
    harm = qp.get("harm_only") in ("1", "true", "on")
    params = {"from": d_from, "to": d_to, "sources": ",".join(chosen) if chosen and len(chosen) < len(SOURCES) else None,
              "harm_only": "true" if harm else None}
    form = {"from": qp.get("from", ""), "to": qp.get("to", ""), "sources": chosen or list(SOURCES), "harm_only": harm}
    return params, errors, form



def timeline(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Where each event sits on a horizontal time axis (per cent of the span), one lane per agency."""
    dated = [e for e in entries if e.get("kind") == "event" and e.get("event_date")]
    if not dated:
        return {"lanes": [], "ticks": []}
    days = [date.fromisoformat(e["event_date"][:10]) for e in dated]
    first, last = min(days), max(days)
    span = max((last - first).days, 1)
    lanes: dict[str, list[dict[str, Any]]] = {}
    for e, d in zip(dated, days):
        lanes.setdefault(e["source"], []).append({"x": round(2 + 96 * (d - first).days / span, 2), "date": str(d),
                                                  "harm": bool(e.get("harm")), "label": e.get("event_type", ""),
                                                  "role": e.get("role", "")})
    ticks = sorted({date(y, 1, 1) for y in range(first.year, last.year + 2)} | {first, last})
    ticks = [t for t in ticks if first <= t <= last]
    return {"lanes": [(s, lanes[s]) for s in SOURCES if s in lanes],
            "ticks": [{"x": round(2 + 96 * (t - first).days / span, 2), "label": str(t)} for t in ticks][:12]}
