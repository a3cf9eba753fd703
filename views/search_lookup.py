"""Search as analysts search, beyond a name and a date of birth (views.search ranks those; an
agency record reference ``police:P00001033`` is views.reference_search):

- a **person_ref** (a police nominal, a council id, a pseudonymised NHS number): every person
  holding a record with it (more than one when linkage has not joined them: worth a look);
- a **name with a birth year**: candidates whose surname (or forename) is near and whose date of
  birth falls in that year or either side, scored with the year (``year_score``);

and the names and postcode of each candidate **as recorded** (case and punctuation as the agency
wrote them), not in the normalised form the matching uses.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from core.store import Store
from views.search_blocking import BLOCK_JW, MAX_CANDIDATE_MENTIONS, forename_block_forms

_ROW = "pm.person_id, m.mention_id, m.forename, m.surname, m.dob, m.postcode"
_FROM = "FROM mentions m JOIN person_mentions pm USING (mention_id)"


def person_ref_matches(store: Store, person_ref: str, *, health_clearance: bool = True) -> list[dict[str, Any]]:
    """Persons holding records with ``person_ref``, as search candidates (score 1: an identifier
    either matches or it does not), by person id; health_confidential records only with clearance."""
    hidden = "" if health_clearance else " AND m.restriction <> 'health_confidential'"
    rows = store.rows(f"SELECT {_ROW} {_FROM} WHERE m.person_ref = ?{hidden} ORDER BY m.mention_id",
                      [person_ref.strip()])
    by_person: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_person.setdefault(r["person_id"], []).append(r)
    return [{"person_id": p, "score": 1.0, "forename": rs[0]["forename"], "surname": rs[0]["surname"],
             "dob": rs[0]["dob"], "postcode": rs[0]["postcode"], "mention_id": rs[0]["mention_id"],
             "field_scores": {"person_ref": 1.0}, "matched_mentions": len(rs)} for p, rs in sorted(by_person.items())]


def year_candidate_rows(store: Store, q_fore: str | None, q_sur: str | None, year: int) -> list[tuple[Any, ...]]:
    """Candidate mentions (person_id, mention_id, forename, surname, dob, postcode) for a name and a
    birth year: the surname near (else the forename near), born that year or either side, or of
    unknown date of birth with both names near."""
    years = (date(max(year - 1, 1), 1, 1), date(min(year + 1, 9999), 12, 31))
    conds, params = [], []
    if q_sur:
        conds.append("left(m.surname, 1) = ? AND jaro_winkler_similarity(m.surname, ?) >= ?")
        params += [q_sur[0], q_sur, BLOCK_JW]
    if q_fore:
        conds.append("(list_contains(?, m.forename) OR (left(m.forename, 1) = ? AND "
                     "jaro_winkler_similarity(m.forename, ?) >= ?))")
        params += [list(forename_block_forms(q_fore)), q_fore[0], q_fore, BLOCK_JW]
    name = " AND ".join(conds)
    unknown_dob = " OR (m.dob IS NULL)" if q_fore and q_sur else ""
    return store.connection.execute(
        f"SELECT DISTINCT {_ROW} {_FROM} WHERE {name} AND (m.dob BETWEEN ? AND ?{unknown_dob}) "
        f"LIMIT {MAX_CANDIDATE_MENTIONS + 1}", [*params, *years]).fetchall()


def year_score(q_year: int, d: date | None) -> float | None:
    """1 born that year, 0.5 a year either side, 0 otherwise (None: unknown)."""
    if d is None:
        return None
    gap = abs(d.year - q_year)
    return 1.0 if gap == 0 else 0.5 if gap == 1 else 0.0


def as_recorded(store: Store, page: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each candidate's forename, surname and postcode as its best-matching record wrote them."""
    ids = [c["mention_id"] for c in page if c.get("mention_id")]
    if not ids:
        return page
    raw = {r["mention_id"]: r for r in store.rows(
        "SELECT mention_id, forename_raw, surname_raw, postcode_raw FROM mentions "
        "WHERE list_contains(?::VARCHAR[], mention_id)", [ids])}
    for c in page:
        r = raw.get(c.get("mention_id"))
        if r is not None:
            c["forename"] = r["forename_raw"] or c["forename"]
            c["surname"] = r["surname_raw"] or c["surname"]
            c["postcode"] = c["postcode"] or r["postcode_raw"]
    return page
