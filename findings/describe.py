"""Words, not codes: people by the name and age their records give, dwellings by the address as an
agency wrote it, events and records by their date, agency and kind, the ids kept only as references.

``in_words(store, texts, as_of)`` rewrites reasons written with ids as an analyst reads them:

- a person id -> ``Sean Walsh (34, MI-00000442F)``: the name most of their records give (as
  recorded: case, accents and punctuation kept; records every viewer sees preferred), their age on
  ``as_of`` from the date of birth most records give;
- a dwelling key (``uprn:100010005278``, ``addr:NM7 0EX|10|sycamore``) -> ``10 Sycamore Street,
  NM7 0EX``: the address most of the records placed there wrote, with its postcode;
- an event key (``police:PE0000451``) -> ``police domestic abuse on 2025-03-12``; a record id
  (``police:P00001033``) -> ``police domestic abuse on 2025-03-12 as victim``; a list of them oldest
  first, those of one kind together (``police domestic abuse on 2023-05-29, 2024-09-10; police
  violence on 2026-07-19``);
- a snake_case word (``social_care``, ``domestic_abuse``) -> ``children's social care``,
  ``domestic abuse``.

No id shape is assumed: a token is a person id, an event key or a record id when the store has
one so named (one query each for all the texts). An id the store does not know stays as it is.
Events and records are read from ``mentions``, so on a cursor seen through a restricted lens
(api/lens.py) a masked health record reads as a ``health contact``; the readers that take a
``lens`` read only the records it shows in full.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from access.lens import Lens
from core.store import Store

DWELLING_KEY = re.compile(r"\b(?:uprn:\d+|addr:[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}\|[\d a-z]*\|[a-z'-]*)")
_REF = r"\b[a-z][a-z_]*:[A-Za-z0-9](?:[\w.-]*\w)?"
_REF_LIST = re.compile(rf"{_REF}(?:, {_REF})+")
# one pass over a text: a dwelling key, a source:id reference (event key or record id), a snake_case
# word, or a token with a digit in it (a person id if the store has one so named)
_TOKENS = re.compile(
    rf"(?P<dwelling>{DWELLING_KEY.pattern})"
    rf"|(?P<ref>{_REF})"
    r"|(?P<snake>(?<![\w:])[a-z]+(?:_[a-z]+)+(?![\w:]))"
    r"|(?P<word>(?<![\w:.-])[A-Za-z0-9][\w-]*(?<![.-])(?!\w))")
# the lens of words written once and shown to every viewer the text reaches (an alert's reason,
# stored when it is raised): from records without a restriction only, so no viewer reads in it a
# name, age or address that only a record hidden from them gives
SHARED = Lens.of(health_clearance=False, export=True)
AGENCY_WORDS = {"police": "police", "social_care": "children's social care", "health": "health"}
KIND_WORDS = {"camhs": "CAMHS", "cse": "child sexual exploitation", "gp": "GP"}


def age_on(dob: date | None, on: date | None) -> int | None:
    if dob is None or on is None:
        return None
    return on.year - dob.year - ((on.month, on.day) < (dob.month, dob.day))


def agency(source: str | None) -> str:
    return AGENCY_WORDS.get(source or "", (source or "").replace("_", " "))


def kind(event_type: str | None) -> str:
    """An event type or a role in words (``domestic_abuse`` -> ``domestic abuse``, ``camhs`` -> ``CAMHS``)."""
    return KIND_WORDS.get(event_type or "", (event_type or "event").replace("_", " "))


def _seen(lens: Lens | None, alias: str = "m") -> str:
    return "TRUE" if lens is None else lens.full_sql(alias)


def people(store: Store, person_ids: list[str], lens: Lens | None = None) -> dict[str, dict[str, Any]]:
    """``{person_id: {"name", "dob"}}``: the name and date of birth most of their records give
    (those of records without a restriction first, so a name is one every viewer could read)."""
    if not person_ids:
        return {}
    rows = store.rows(
        "SELECT pm.person_id, trim(concat_ws(' ', m.forename_raw, m.surname_raw)) AS name, m.dob, "
        "count(*) FILTER (WHERE m.restriction = 'none') AS open, count(*) AS n "
        "FROM person_mentions pm JOIN mentions m USING (mention_id) "
        f"WHERE pm.person_id IN (SELECT unnest(?::VARCHAR[])) AND {_seen(lens)} GROUP BY ALL", [sorted(set(person_ids))])
    names: dict[str, dict[str, tuple[int, int]]] = {}
    dobs: dict[str, dict[date, tuple[int, int]]] = {}

    def add(into: dict, pid: str, value: Any, r: dict[str, Any]) -> None:
        seen = into.setdefault(pid, {}).get(value, (0, 0))
        into[pid][value] = (seen[0] + r["open"], seen[1] + r["n"])

    for r in rows:
        if r["name"]:
            add(names, r["person_id"], r["name"], r)
        if r["dob"] is not None:
            add(dobs, r["person_id"], r["dob"], r)
    out: dict[str, dict[str, Any]] = {}
    for pid in set(names) | set(dobs):
        n, d = names.get(pid, {}), dobs.get(pid, {})
        out[pid] = {"name": max(sorted(n), key=n.get) if n else None, "dob": max(sorted(d), key=d.get) if d else None}
    return out


def addresses(store: Store, keys: list[str], lens: Lens | None = None) -> dict[str, str]:
    """``{dwelling_key: "10 Sycamore Street, NM7 0EX"}``: the address most records placed there wrote
    (records without a restriction first, so it is one every viewer could read)."""
    if not keys:
        return {}
    rows = store.rows(
        "SELECT coalesce(md.dwelling_key, m.household_key) AS key, m.address_raw, m.postcode, "
        "count(*) FILTER (WHERE m.restriction = 'none') AS open, count(*) AS n "
        "FROM mentions m LEFT JOIN mention_dwellings md USING (mention_id) "
        f"WHERE list_contains(?::VARCHAR[], coalesce(md.dwelling_key, m.household_key)) AND m.address_raw IS NOT NULL AND {_seen(lens)} "
        "GROUP BY ALL ORDER BY key, open DESC, n DESC, m.address_raw, m.postcode", [sorted(set(keys))])
    out: dict[str, str] = {}
    postcode: dict[str, str] = {}
    for r in rows:
        out.setdefault(r["key"], r["address_raw"])
        if r["postcode"]:
            postcode.setdefault(r["key"], r["postcode"])
    return {k: with_postcode(a, postcode.get(k)) for k, a in out.items()}


def with_postcode(address: str | None, postcode: str | None) -> str:
    """``10 Sycamore St, NM7 0EX`` (the postcode once, when the address does not hold it already)."""
    if not address:
        return postcode or ""
    if postcode and postcode.replace(" ", "") not in address.upper().replace(" ", ""):
        return f"{address}, {postcode}"
    return address


def events(store: Store, keys: list[str], lens: Lens | None = None) -> dict[str, dict[str, Any]]:
    """``{event_key: {"date", "source", "event_type"}}`` of the events so named (the kind a record
    without a restriction gives, where the records of one event differ)."""
    if not keys:
        return {}
    return {r["key"]: r for r in store.rows(
        "SELECT event_key AS key, any_value(source) AS source, min(event_date)::DATE AS date, "
        "arg_min(event_type, CASE restriction WHEN 'none' THEN 0 ELSE 1 END) AS event_type "
        f"FROM mentions m WHERE event_key IN (SELECT unnest(?::VARCHAR[])) AND {_seen(lens)} GROUP BY event_key", [sorted(set(keys))])}


def records(store: Store, mention_ids: list[str], lens: Lens | None = None) -> dict[str, dict[str, Any]]:
    """``{mention_id: {...}}``: each record's event, its date, agency, kind, the role, name and
    address as recorded."""
    if not mention_ids:
        return {}
    return {r["mention_id"]: r for r in store.rows(
        "SELECT mention_id, event_key, source, event_date::DATE AS date, event_type, role, "
        "trim(concat_ws(' ', forename_raw, surname_raw)) AS name, address_raw, postcode "
        f"FROM mentions m WHERE mention_id IN (SELECT unnest(?::VARCHAR[])) AND {_seen(lens)}", [sorted(set(mention_ids))])}


def event_words(info: dict[str, Any]) -> str:
    """``police domestic abuse on 2025-03-12``."""
    return f"{agency(info.get('source'))} {kind(info.get('event_type'))}" + (
        f" on {info['date']}" if info.get("date") else "")


def record_words(info: dict[str, Any]) -> str:
    """``police domestic abuse on 2025-03-12 as victim``."""
    return event_words(info) + (f" as {kind(info['role'])}" if info.get("role") else "")


def person_words(info: dict[str, Any] | None, person_id: str, as_of: date | None) -> str:
    """``Sean Walsh (34, MI-00000442F)``; ``MI-00000442F`` when nothing is known."""
    if not info or not info.get("name"):
        return person_id
    age = age_on(info.get("dob"), as_of)
    return f"{info['name']} ({'' if age is None else f'{age}, '}{person_id})"


def _person_ids(store: Store, tokens: set[str]) -> set[str]:
    if not tokens:
        return set()
    return {r["person_id"] for r in store.rows(
        "SELECT person_id FROM persons WHERE person_id IN (SELECT unnest(?::VARCHAR[]))", [sorted(tokens)])}


def in_words(store: Store, texts: list[str], as_of: date | None, lens: Lens | None = None) -> list[str]:
    """Each text with its ids in words (module docstring); a few queries for all of them. ``lens``:
    words only from the records it shows in full."""
    found: dict[str, set[str]] = {"dwelling": set(), "ref": set(), "word": set()}
    for t in texts:
        for m in _TOKENS.finditer(t or ""):
            if m.lastgroup in found:
                found[m.lastgroup].add(m.group(0))
    where = addresses(store, sorted(found["dwelling"]), lens)
    known = events(store, sorted(found["ref"]), lens)
    what = {k: event_words(v) for k, v in known.items()}
    known.update(recs := records(store, sorted(found["ref"] - set(what)), lens))
    what.update({k: record_words(v) for k, v in recs.items()})
    who = people(store, sorted(_person_ids(store, {w for w in found["word"] if any(c.isdigit() for c in w)})), lens)

    def sub(m: re.Match) -> str:
        token = m.group(0)
        if m.lastgroup == "dwelling":
            return where.get(token, token)
        if m.lastgroup == "ref":
            return what.get(token, token)
        if m.lastgroup == "snake":
            return agency(token)
        return person_words(who[token], token, as_of) if token in who else token

    def by_date(m: re.Match) -> str:
        """A list of events or records, oldest first, those of one kind together: ``police domestic
        abuse on 2023-05-29, 2024-09-10; police violence on 2026-07-19``."""
        refs = sorted(m.group(0).split(", "), key=lambda r: (known.get(r, {}).get("date") is None,
                                                               known.get(r, {}).get("date") or date.min, r))
        if any(r not in known for r in refs):
            return ", ".join(refs)   # an id the store does not know: each one said alone (in sub)
        groups: dict[tuple[str, str], list[str]] = {}
        for r in refs:
            info = known[r]
            role = f" as {kind(info['role'])}" if info.get("role") else ""
            groups.setdefault((f"{agency(info.get('source'))} {kind(info.get('event_type'))}", role), []).append(
                str(info["date"]) if info.get("date") else "an unknown date")
        return "; ".join(f"{what} on {', '.join(dict.fromkeys(days))}{role}" for (what, role), days in groups.items())

    return [_TOKENS.sub(sub, _REF_LIST.sub(by_date, t)) if t else t for t in texts]
