"""Person search: the analyst's first step. Ranked candidate persons for a name, a date of birth
and a postcode, tolerant of typos, nicknames, swapped day and month, and moved house.

Two steps, so that it stays fast at a million mentions:

1. **Blocking in SQL**, over ``search_index`` (one row per mention and surname key, sorted by
   key; rebuilt after each run and decision, see :func:`refresh_index`; the live tables while it
   is stale). A mention is a candidate if its surname (or a part of a double-barrelled one) has
   the same first letter and Jaro-Winkler >= ``BLOCK_JW`` to the query's AND one more identifier
   is near (forename close or a form of the same formal name; dob with two of day / month /
   year equal or day and month swapped; the same postcode); or its date of birth is the query's
   or the query's with day and month swapped; or its postcode is the query's and its forename
   is near. So a common surname alone never brings in thousands of records, the surname block
   reads only its letter's row groups, and the others are ART index lookups.
2. **Scoring in Python** (rapidfuzz) of each candidate mention, field by field, weighted over the
   fields the query gives; a person's score is its best mention's. Field scores:

   - forename: Jaro-Winkler, or 0.95 when both are forms of the same formal name (bill / william,
     from ``linkage/data/nicknames.csv``);
   - surname: Jaro-Winkler, the best over the parts of a double-barrelled name;
   - dob: 1 exact, 0.85 day and month swapped, 0.6 two of day / month / year equal, 0.3 same
     year (a year either side: 0.15);
   - postcode: 1 exact, 0.7 same sector, 0.4 same district.

   A field the mention does not have scores ``missing_score`` (unknown is neither match nor not).

The query is normalised like an ingested record (ingest.normalise), so 'O'Brien' finds 'obrien'.
A query must give at least two of forename, surname, dob and postcode: search is for finding a
known person, not for listing the population.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
from rapidfuzz.distance import JaroWinkler

from core.errors import IntelError
from core.store import Store
from core.store_mode import is_encoded

from views.search_blocking import (
    BLOCK_JW,
    CANDIDATE_COLUMNS,
    Candidates,
    INDEX_ROWS_SQL,
    MAX_CANDIDATE_MENTIONS,
    MIN_SCORE,
    MISSING_SCORE,
    WEIGHTS,
    forename_block_forms,
    name_forms,
    norm_value,
    parse_dob,
    day_month_swapped,
)
from views.search_lookup import as_recorded, person_ref_matches, year_candidate_rows, year_score
from views.search_memory import MemorySearchIndex

def forename_score(q: str, f: str | None) -> float | None:
    if not f:
        return None
    best = JaroWinkler.similarity(q, f)
    if best < 0.95 and name_forms(q) & name_forms(f):
        best = 0.95
    return best


def surname_score(q: str, s: str | None) -> float | None:
    if not s:
        return None
    best = JaroWinkler.similarity(q, s)
    if "-" in q or "-" in s or " " in q or " " in s:
        for a in q.replace(" ", "-").split("-"):
            for b in s.replace(" ", "-").split("-"):
                if a and b:
                    best = max(best, 0.95 * JaroWinkler.similarity(a, b))
    return best


def dob_score(q: date, d: date | None) -> float | None:
    if d is None:
        return None
    if d == q:
        return 1.0
    if d.year == q.year and d.month == q.day and d.day == q.month:
        return 0.85
    same = (d.year == q.year) + (d.month == q.month) + (d.day == q.day)
    if same == 2:
        return 0.6
    if d.year == q.year:
        return 0.3
    if abs(d.year - q.year) == 1:
        return 0.15
    return 0.0


def postcode_score(q: str, p: str | None) -> float | None:
    if not p:
        return None
    if p == q:
        return 1.0
    qo, _, qi = q.partition(" ")
    po, _, pi = p.partition(" ")
    if qo == po and qi[:1] == pi[:1]:
        return 0.7
    if qo == po:
        return 0.4
    return 0.0


def index_stamp(store: Store) -> str:
    """What the search index must have been built from: changes with every ingest and every
    change of persons (each writes mentions or person_history)."""
    r = store.connection.execute(
        "SELECT (SELECT count(*) FROM mentions), (SELECT max(ingested_at) FROM mentions), "
        "(SELECT coalesce(max(history_id), 0) FROM person_history), (SELECT count(*) FROM person_mentions)").fetchone()
    return "|".join(str(v) for v in r)


def index_is_current(store: Store) -> bool:
    row = store.connection.execute("SELECT stamp FROM search_index_meta").fetchall()
    return bool(row) and row[0][0] == index_stamp(store)


def refresh_index(store: Store) -> dict[str, Any]:
    """(Re)build ``search_index``: every mention's search identifiers and person, ordered by
    surname so that a surname block reads only its row groups. Search uses it only while it is
    current (:func:`index_is_current`); otherwise it reads the live tables (slower, same answer)."""
    with store.transaction():
        stamp = index_stamp(store)
        store.execute(
            f"CREATE OR REPLACE TABLE search_index AS SELECT * FROM ({INDEX_ROWS_SQL}) "
            "ORDER BY sur_key, forename, dob")
        store.execute("CREATE INDEX search_index_dob ON search_index (dob)")
        store.execute("CREATE INDEX search_index_postcode ON search_index (postcode)")
        store.execute("DELETE FROM search_index_meta")
        store.execute("INSERT INTO search_index_meta VALUES (?, now())", [stamp])
        n = store.scalar("SELECT count(DISTINCT mention_id) FROM search_index")
    return {"stamp": stamp, "mentions": n}


def _sql_candidate_rows(store: Store, q_fore: str | None, q_sur: str | None, q_dob: date | None,
                        q_pc: str | None) -> list[tuple[Any, ...]]:
    """The candidate mentions (person_id, mention_id, forename, surname, dob, postcode), found by
    SQL blocks (views.search_memory.MemorySearchIndex finds the same ones in memory)."""
    # Blocking: each block is a conjunction of two identifiers, so a common surname alone (or a
    # common forename alone) never brings in thousands of records. Blocks are separate queries
    # (UNION), each led by its cheapest filter; the index is sorted by surname key, so a surname
    # block reads only the row groups of its first letter.
    fore_sql, fore_params = None, []
    if q_fore:
        forms = list(forename_block_forms(q_fore))
        fore_sql = ("(list_contains(?, m.forename) OR (left(m.forename, 1) = ? AND "
                    "jaro_winkler_similarity(m.forename, ?) >= ?))")
        fore_params = [forms, q_fore[0], q_fore, BLOCK_JW]
    dob_sql, dob_params = None, []
    if q_dob:
        swapped = day_month_swapped(q_dob)
        # two of day / month / year equal, or day and month swapped
        dob_sql = ("(((year(m.dob) = ?)::INT + (month(m.dob) = ?)::INT + (day(m.dob) = ?)::INT) >= 2"
                   + (" OR m.dob = ?)" if swapped else ")"))
        dob_params = [q_dob.year, q_dob.month, q_dob.day] + ([swapped] if swapped else [])
    pc_sql, pc_params = ("m.postcode = ?", [q_pc]) if q_pc else (None, [])
    blocks: list[tuple[str, list[Any]]] = []
    if q_sur:
        if fore_sql and q_dob:  # a namesake born years apart is not a candidate
            near = (f"({fore_sql} AND (m.dob IS NULL OR m.dob BETWEEN ? AND ?))",
                    fore_params + [date(max(q_dob.year - 2, 1), 1, 1), date(min(q_dob.year + 2, 9999), 12, 31)])
        else:
            near = (fore_sql, fore_params)
        others = [(x, p) for x, p in (near, (dob_sql, dob_params), (pc_sql, pc_params)) if x]
        other_sql = "(" + " OR ".join(x for x, _ in others) + ")"
        other_params = [v for _, p in others for v in p]
        keys = sorted({q_sur} | {p for p in q_sur.replace(" ", "-").split("-") if p})
        for k in keys:
            blocks.append((f"m.sur_key >= ? AND m.sur_key < ? AND jaro_winkler_similarity(m.sur_key, ?) >= ? "
                           f"AND {other_sql}", [k[0], chr(ord(k[0]) + 1), k, BLOCK_JW, *other_params]))
    # the rest are equality lookups, answered by the index's ART indexes on dob and postcode
    if q_dob:
        for d in [q_dob] + ([day_month_swapped(q_dob)] if day_month_swapped(q_dob) else []):
            blocks.append(("m.dob = ?", [d]))
    if pc_sql and fore_sql:
        blocks.append((f"{pc_sql} AND {fore_sql}", pc_params + fore_params))
    elif pc_sql and not q_sur:
        blocks.append((pc_sql, pc_params))

    source = "search_index m" if index_is_current(store) else f"({INDEX_ROWS_SQL}) m"
    sql = " UNION ".join(f"SELECT person_id, mention_id, forename, surname, dob, postcode FROM {source} WHERE {b}"
                         for b, _ in blocks)
    params = [v for _, p in blocks for v in p]
    # DISTINCT: a mention has a row per surname key, and one query (no UNION) would return a
    # double-barrelled name once for each key near the query, counting it twice in matched_mentions
    return store.connection.execute(f"SELECT DISTINCT * FROM ({sql}) LIMIT {MAX_CANDIDATE_MENTIONS + 1}",
                                    params).fetchall()


def _rank(found: Candidates, scorers: list[tuple[str, Any, Any]], min_score: float, limit: int,
          offset: int) -> tuple[int, list[dict[str, Any]]]:
    """(number of persons, the page asked for) of the candidates ranked best first. A mention's
    score is the weighted mean of its field scores over the fields the query gives; a person's
    is its best mention's (ties: the lower mention id); persons rank by score, then id; a
    person's matched_mentions counts its mentions scoring at least ``min_score``."""
    n = len(found)
    total = np.zeros(n)
    field_scores: dict[str, dict[int, float | None]] = {}
    for k, fn, q in scorers:   # the same float operations, in the same order, as a row at a time
        distinct, inverse = np.unique(found.codes[k], return_inverse=True)
        values = found.values[k]
        raw = [fn(q, values[code]) for code in distinct.tolist()]
        field_scores[k] = dict(zip(distinct.tolist(), raw))
        weighted = np.array([MISSING_SCORE if v is None else v for v in raw], dtype=np.float64)
        total += WEIGHTS[k] * weighted[inverse.reshape(-1)]
    score = total / sum(WEIGHTS[k] for k, _, _ in scorers)
    kept = np.flatnonzero(score >= min_score)
    person, mention, kept_score = found.codes["person"][kept], found.codes["mention"][kept], score[kept]
    order = np.lexsort((mention, -kept_score, person))      # by person, best first
    by_person = person[order]
    starts = np.flatnonzero(np.r_[True, by_person[1:] != by_person[:-1]]) if len(order) else order
    best = order[starts]                                     # each person's best mention
    counts = np.diff(np.r_[starts, len(order)])
    ranked = np.lexsort((person[best], -kept_score[best]))   # by score, then person id
    page = []
    for j in ranked[offset: offset + limit].tolist():
        i = int(kept[best[j]])
        code = {c: int(found.codes[c][i]) for c in CANDIDATE_COLUMNS}
        value = {c: found.values[c][code[c]] for c in CANDIDATE_COLUMNS}
        page.append({"person_id": value["person"], "score": round(float(kept_score[best[j]]), 4),
                     "forename": value["forename"], "surname": value["surname"], "dob": value["dob"],
                     "postcode": value["postcode"], "mention_id": value["mention"],
                     "field_scores": {k: None if (v := field_scores[k][code[k]]) is None else round(v, 3)
                                      for k, _, _ in scorers},
                     "matched_mentions": int(counts[j])})
    return len(best), page


def search_persons(
    store: Store,
    *,
    forename: str | None = None,
    surname: str | None = None,
    dob: str | date | None = None,
    postcode: str | None = None,
    person_ref: str | None = None,
    birth_year: int | str | None = None,
    limit: int = 20,
    offset: int = 0,
    min_score: float = MIN_SCORE,
    index: MemorySearchIndex | None = None,
    health_clearance: bool = True,
) -> dict[str, Any]:
    """Candidate persons, best first: {query, total, candidates: [{person_id, score, forename,
    surname, dob, postcode, mention_id, matched_mentions, field_scores}]}, names and postcode as
    the best-matching record wrote them. Any one of: a ``person_ref``, a ``postcode``, a name with a
    ``birth_year``; or two of forename, surname, dob, postcode (an agency record reference:
    views.reference_search). ``index``: find name/dob/postcode candidates in memory (the API's
    snapshot) instead of by SQL; the same candidates either way. Without ``health_clearance`` a
    person_ref held only by health_confidential records finds nobody."""
    if limit < 1 or offset < 0:
        raise IntelError("limit must be at least 1 and offset at least 0")
    if person_ref not in (None, ""):
        exact = person_ref_matches(store, person_ref, health_clearance=health_clearance)
        return {"query": {"person_ref": person_ref}, "total": len(exact), "limit": limit, "offset": offset,
                "truncated": False, "candidates": as_recorded(store, exact[offset: offset + limit])}
    if (index.encoded if index is not None else is_encoded(store)):
        raise IntelError("this store links encoded identifiers and holds no names, dates of birth or postcodes to "
                         "search: search by agency record reference instead (reference=police:P00001216); see "
                         "docs/encoded-extracts.md")
    q_fore, q_sur, q_pc = norm_value("name", forename), norm_value("name", surname), norm_value("postcode", postcode)
    if postcode not in (None, "") and q_pc is None:
        raise IntelError(f"postcode {postcode!r} is not a UK postcode")
    q_dob = parse_dob(dob)
    q_year = _year(birth_year) if q_dob is None else None
    given = {k: v for k, v in (("forename", q_fore), ("surname", q_sur), ("dob", q_dob), ("birth_year", q_year),
                               ("postcode", q_pc)) if v is not None}
    named_year = q_year is not None and (q_fore or q_sur)
    if not (len(given) >= 2 or set(given) == {"postcode"} or named_year):
        raise IntelError("give one of: an agency reference (source:record_id), a person_ref, a postcode, "
                         "a name with a birth year; or two of forename, surname, dob and postcode")

    if q_year is not None:
        found = Candidates.from_rows(year_candidate_rows(store, q_fore, q_sur, q_year)) if named_year else \
            Candidates.from_rows(_sql_candidate_rows(store, q_fore, q_sur, None, q_pc))
    elif index is not None:
        found = index.candidates(q_fore, q_sur, q_dob, q_pc, limit=MAX_CANDIDATE_MENTIONS + 1)
    else:
        found = Candidates.from_rows(_sql_candidate_rows(store, q_fore, q_sur, q_dob, q_pc))
    truncated = len(found) > MAX_CANDIDATE_MENTIONS
    scorers = [(k, fn, q) for k, fn, q in (("forename", forename_score, q_fore), ("surname", surname_score, q_sur),
                                            ("dob", dob_score, q_dob), ("dob", year_score, q_year),
                                            ("postcode", postcode_score, q_pc)) if q]
    total, page = _rank(found, scorers, min_score, limit, offset)
    return {
        "query": {k: (v.isoformat() if isinstance(v, date) else v) for k, v in given.items()},
        "total": total,
        "limit": limit,
        "offset": offset,
        "truncated": truncated,
        # from memory where the index is (a SQL lookup scans mentions: ~10 ms at 1.1M)
        "candidates": index.as_recorded(page) if index is not None else as_recorded(store, page),
    }


def _year(value: int | str | None) -> int | None:
    if value in (None, ""):
        return None
    try:
        year = int(str(value).strip())
    except ValueError:
        raise IntelError(f"birth_year {value!r} is not a year, e.g. 1993") from None
    if not 1900 <= year <= date.today().year:
        raise IntelError(f"birth_year {year} is not a year of birth (1900 to {date.today().year})")
    return year
