"""Why two records are (or are not) one person, as an analyst reads it: both records side by side
as the agencies wrote them, each comparison as a line of words with its weight ("dates of birth
identical: +11.0"; "forenames Sean / Shaun, a name and its nickname: +6.6"), and the final
probability; printable on one A4 page. The numbers are linkage.explain's (Splink's waterfall:
prior + each comparison's weight + term-frequency adjustments = final weight); Splink's own
chart stays available for the technical view (``intel explain --chart``).
"""

from __future__ import annotations

import html
from datetime import date, datetime
from typing import Any

from core.store import Store

# comparison -> (what is compared, in the plural; level label -> words)
WORDS: dict[str, tuple[str, dict[str, str]]] = {
    "forename": ("forenames", {
        "exact": "identical", "equals the other's surname (swapped)": "one's forename is the other's surname (swapped)",
        "nickname or alias": "a name and its nickname", "one is the other's initial": "one is the other's initial",
        "jaro-winkler >= 0.92": "spelt almost alike", "jaro-winkler >= 0.80": "spelt alike",
        "different forename, same surname and dob (twin)": "different, with the same surname and date of birth (twins?)",
        "same initial": "only the initial the same", "All other comparisons": "different"}),
    "surname": ("surnames", {
        "exact": "identical", "matches the other's forename (swapped)": "one's surname is the other's forename (swapped)",
        "shares a hyphenated part": "share a part of a double-barrelled name", "jaro-winkler >= 0.92": "spelt almost alike",
        "jaro-winkler >= 0.80": "spelt alike", "All other comparisons": "different"}),
    "dob": ("dates of birth", {
        "exact": "identical", "day and month swapped": "day and month swapped", "one part off": "one of day, month, year different",
        "year only": "the same year only", "within 5 years": "within 5 years of each other",
        "more than 15 years apart (a generation)": "more than 15 years apart (a generation)",
        "6 to 15 years apart": "6 to 15 years apart"}),
    "sex": ("sexes", {"exact": "the same", "All other comparisons": "different"}),
    "postcode": ("postcodes", {
        "full": "identical", "sector": "the same sector", "district": "the same district",
        "one character different or swapped": "one character different or swapped", "All other comparisons": "different"}),
    "address": ("addresses", {
        "same UPRN": "the same property (UPRN)", "same address": "identical",
        "same house number, most address words shared": "the same house number, most words shared",
        "house number not different, most words alike": "no different house number, most words alike",
        "jaro-winkler >= 0.90": "spelt almost alike", "All other comparisons": "different"}),
    "person_ref": ("agency person references", {
        "same agency, same person id": "the same (one agency's id for one person)",
        "same agency, different person id": "different ids from the same agency"}),
}
RECORD_FIELDS = ("source", "record_id", "event_date", "event_type", "role", "forename_raw", "middle_names_raw",
                 "surname_raw", "dob", "sex", "address_raw", "postcode", "uprn", "person_ref", "forename", "surname",
                 "address")
# what each comparison shows of a record: the first of these it has (as recorded, else normalised)
_SHOWN = {"forename": ("forename_raw", "forename"), "surname": ("surname_raw", "surname"), "dob": ("dob",),
          "sex": ("sex",), "postcode": ("postcode",), "address": ("address_raw", "address"), "person_ref": ("person_ref",)}


def records_of(store: Store, mention_a: str, mention_b: str) -> list[dict[str, Any]]:
    """The two records as the agencies wrote them (names, address in their recorded form)."""
    rows = {r["mention_id"]: r for r in store.rows(
        f"SELECT mention_id, {', '.join(RECORD_FIELDS)} FROM mentions WHERE mention_id IN (?, ?)", [mention_a, mention_b])}
    return [rows.get(mention_a, {"mention_id": mention_a}), rows.get(mention_b, {"mention_id": mention_b})]


def uk(value: Any) -> str:
    """A date as a UK reader writes it (15/07/1998); anything else as it is."""
    if isinstance(value, (date, datetime)):
        return value.strftime("%d/%m/%Y") if not isinstance(value, datetime) else value.strftime("%d/%m/%Y %H:%M")
    return str(value)


def _value(record: dict[str, Any], comparison: str) -> str | None:
    values = [uk(record[f]) for f in _SHOWN.get(comparison, ()) if record.get(f) not in (None, "")]
    return values[0] if values else None


def line(comparison: dict[str, Any], a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """One comparison in words, with its weight (the comparison's plus its term-frequency adjustment)."""
    name = comparison["comparison"]
    noun, levels = WORDS.get(name, (name.replace("_", " "), {}))
    level = comparison["level"] or ""
    weight = (comparison["match_weight"] or 0.0) + (comparison.get("tf_adjustment_weight") or 0.0)
    va, vb = _value(a, name), _value(b, name)
    if comparison.get("gamma") == -1 and va and vb:
        text = f"{noun} {va} / {vb}, not comparable (different agencies' references), not counted"
    elif comparison.get("gamma") == -1:
        text = f"{noun}: not on both records ({va or 'none'} / {vb or 'none'}), not counted"
    else:
        words = levels.get(level, level.lower())
        if words in ("identical", "the same", "the same property (UPRN)"):
            text = f"{noun} {words}" + (f" ({va})" if va else "")
        else:
            text = f"{noun} {va or '-'} / {vb or '-'}, {words}"
    tf = comparison.get("tf_adjustment_weight") or 0.0
    if abs(tf) >= 0.05:
        text += f" (of which {tf:+.1f} for how common the value is)"
    return {"comparison": name, "text": f"{text}: {weight:+.1f}", "weight": round(weight, 2)}


def in_words(store: Store, report: dict[str, Any]) -> dict[str, Any]:
    """``linkage.explain.explain_pair``'s report as records side by side and lines of words."""
    a, b = records_of(store, report["mention_a"], report["mention_b"])
    lines = [line(c, a, b) for c in report["comparisons"]]
    p = report["match_probability"]
    verdict = ("very likely the same person" if p >= 0.99 else "probably the same person" if p >= 0.9
               else "possibly the same person: a person should decide" if p >= 0.5 else "probably different people")
    return {
        "records": [a, b],
        "prior": f"start: how often two records picked at random are one person: {report['prior']['match_weight']:+.1f}",
        "lines": lines,
        "total": f"total: {report['match_weight']:+.1f}, a probability of {100 * p:.1f}% that they are one person "
                 f"({verdict})",
        "probability": p,
    }


def _record_rows(a: dict[str, Any], b: dict[str, Any]) -> str:
    labels = (("Agency", "source"), ("Record", "record_id"), ("Event", "event_type"), ("Date", "event_date"),
              ("Role", "role"), ("Forename", "forename_raw"), ("Middle names", "middle_names_raw"),
              ("Surname", "surname_raw"), ("Date of birth", "dob"), ("Sex", "sex"), ("Address", "address_raw"),
              ("Postcode", "postcode"), ("UPRN", "uprn"), ("Agency's person ref", "person_ref"))

    def cell(r: dict[str, Any], f: str) -> str:
        v = r.get(f) if r.get(f) not in (None, "") else r.get(f.removesuffix("_raw"))
        if v is not None and f in ("event_date", "dob"):
            v = uk(v)
        return html.escape(str(v).replace("_", " ") if f in ("source", "event_type", "role") and v else str(v)) \
            if v not in (None, "") else '<span class="none">not recorded</span>'

    return "".join(f"<tr><th>{label}</th><td>{cell(a, f)}</td><td>{cell(b, f)}</td></tr>" for label, f in labels)


def to_html(words: dict[str, Any], chart: str | None = None) -> str:
    """A printable page (A4 portrait): the two records side by side, each comparison's line, the total."""
    a, b = words["records"]
    items = "".join(
        f'<li class="{"up" if ln["weight"] > 0 else "down" if ln["weight"] < 0 else "zero"}">{html.escape(ln["text"])}</li>'
        for ln in words["lines"])
    link = (f'<p class="tech">Technical view: <a href="{html.escape(chart)}">Splink\'s waterfall chart</a>.</p>'
            if chart else "")
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Are these one person? {html.escape(a.get('mention_id', ''))} and {html.escape(b.get('mention_id', ''))}</title>
<style>
@page {{ size: A4 portrait; margin: 14mm; }}
body {{ font: 14px/1.4 system-ui, sans-serif; color: #1b1b1b; max-width: 62rem; margin: 1.2rem auto; padding: 0 1rem; }}
h1 {{ font-size: 1.35rem; margin: 0 0 .3rem; }} h2 {{ font-size: 1.05rem; margin: 1.1rem 0 .4rem; }}
table {{ border-collapse: collapse; width: 100%; }} th, td {{ text-align: left; padding: .12rem .5rem; border-bottom: 1px solid #ddd; vertical-align: top; }}
thead th {{ background: #eef1f5; }} tbody th {{ width: 11rem; color: #444; font-weight: 600; }}
.none {{ color: #888; font-style: italic; }}
ul {{ list-style: none; padding: 0; margin: 0; }} li {{ padding: .2rem .5rem; border-left: 5px solid #bbb; margin: .25rem 0; background: #fafafa; }}
li.up {{ border-color: #2e7d32; }} li.down {{ border-color: #c62828; }}
.total {{ font-size: 1.1rem; font-weight: 700; margin-top: .6rem; padding: .5rem; background: #eef1f5; }}
.tech, .note {{ color: #555; font-size: .9rem; }}
@media print {{ body {{ font-size: 11px; margin: 0; max-width: none; }} h2 {{ margin: .6rem 0 .25rem; }}
  li {{ margin: .1rem 0; padding: .1rem .4rem; }} .total {{ padding: .3rem; }} a {{ color: inherit; }} }}
</style></head><body>
<h1>Are these two records one person?</h1>
<p class="total">{html.escape(words['total'][0].upper() + words['total'][1:])}</p>
<p class="note">OFFICIAL-SENSITIVE. Each line is one comparison the linkage model makes; a positive weight
makes one person more likely, a negative one less. The weights add up to the total.</p>
<h2>The two records, as the agencies wrote them</h2>
<table><thead><tr><th></th><th>{html.escape(a.get('mention_id', ''))}</th><th>{html.escape(b.get('mention_id', ''))}</th></tr></thead>
<tbody>{_record_rows(a, b)}</tbody></table>
<h2>What the model compared</h2>
<ul><li>{html.escape(words['prior'])}</li>{items}</ul>
<p class="total">{html.escape(words['total'][0].upper() + words['total'][1:])}</p>
{link}
</body></html>
"""
