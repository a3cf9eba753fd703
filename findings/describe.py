"""Words, not codes: people by the name and age their records give, dwellings by the address as an
agency wrote it, the ids kept only as references.

``in_words(store, text, as_of)`` rewrites a reason written with ids (``MI-00000442F``,
``uprn:100010005278``, ``addr:NM7 0EX|10|sycamore``) as an analyst reads it:
``Sean Walsh (34, MI-00000442F)``, ``10 Sycamore Street, NM7 0EX``. A person's name is the one most
of their records give (as recorded: case, accents and punctuation kept), their age on ``as_of``
from the date of birth most records give; a dwelling's address the one most of the records placed
there wrote, with its postcode. An id nobody recorded a name or address for stays as it is.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from core.person_ids import IN_TEXT
from core.store import Store

PERSON_ID = IN_TEXT   # MI-00000442F (core/person_ids.py); never an agency's record id
DWELLING_KEY = re.compile(r"\b(?:uprn:\d+|addr:[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}\|[\d a-z]*\|[a-z'-]*)")


def age_on(dob: date | None, on: date | None) -> int | None:
    if dob is None or on is None:
        return None
    return on.year - dob.year - ((on.month, on.day) < (dob.month, dob.day))


def people(store: Store, person_ids: list[str]) -> dict[str, dict[str, Any]]:
    """``{person_id: {"name", "dob"}}``: the name and date of birth most of their records give."""
    if not person_ids:
        return {}
    rows = store.rows(
        "SELECT pm.person_id, trim(concat_ws(' ', m.forename_raw, m.surname_raw)) AS name, m.dob, count(*) AS n "
        "FROM person_mentions pm JOIN mentions m USING (mention_id) "
        "WHERE list_contains(?::VARCHAR[], pm.person_id) GROUP BY ALL", [sorted(set(person_ids))])
    out: dict[str, dict[str, Any]] = {}
    names: dict[str, dict[str, int]] = {}
    dobs: dict[str, dict[date, int]] = {}
    for r in rows:
        if r["name"]:
            names.setdefault(r["person_id"], {})[r["name"]] = names.get(r["person_id"], {}).get(r["name"], 0) + r["n"]
        if r["dob"] is not None:
            dobs.setdefault(r["person_id"], {})[r["dob"]] = dobs.get(r["person_id"], {}).get(r["dob"], 0) + r["n"]
    for pid in set(names) | set(dobs):
        n, d = names.get(pid, {}), dobs.get(pid, {})
        out[pid] = {"name": max(sorted(n), key=n.get) if n else None, "dob": max(sorted(d), key=d.get) if d else None}
    return out


def addresses(store: Store, keys: list[str]) -> dict[str, str]:
    """``{dwelling_key: "10 Sycamore Street, NM7 0EX"}``: the address most records placed there wrote."""
    if not keys:
        return {}
    rows = store.rows(
        "SELECT coalesce(md.dwelling_key, m.household_key) AS key, m.address_raw, m.postcode, count(*) AS n "
        "FROM mentions m LEFT JOIN mention_dwellings md USING (mention_id) "
        "WHERE list_contains(?::VARCHAR[], coalesce(md.dwelling_key, m.household_key)) AND m.address_raw IS NOT NULL "
        "GROUP BY ALL ORDER BY key, n DESC, m.address_raw", [sorted(set(keys))])
    out: dict[str, str] = {}
    postcode: dict[str, str] = {}
    for r in rows:
        out.setdefault(r["key"], r["address_raw"])
        if r["postcode"]:
            postcode.setdefault(r["key"], r["postcode"])
    return {k: (f"{a}, {postcode[k]}" if k in postcode and postcode[k].replace(" ", "") not in a.upper().replace(" ", "")
                else a) for k, a in out.items()}


def person_words(info: dict[str, Any] | None, person_id: str, as_of: date | None) -> str:
    """``Sean Walsh (34, MI-00000442F)``; ``MI-00000442F`` when nothing is known."""
    if not info or not info.get("name"):
        return person_id
    age = age_on(info.get("dob"), as_of)
    return f"{info['name']} ({'' if age is None else f'{age}, '}{person_id})"


def in_words(store: Store, texts: list[str], as_of: date | None) -> list[str]:
    """Each text with person ids and dwelling keys as names, ages and addresses (module docstring);
    two queries for all of them."""
    who = people(store, [p for t in texts if t for p in PERSON_ID.findall(t)])
    where = addresses(store, [k for t in texts if t for k in DWELLING_KEY.findall(t)])

    def one(text: str) -> str:
        if not text:
            return text
        text = DWELLING_KEY.sub(lambda m: where.get(m.group(0), m.group(0)), text)
        return PERSON_ID.sub(lambda m: person_words(who.get(m.group(0)), m.group(0), as_of), text)

    return [one(t) for t in texts]
