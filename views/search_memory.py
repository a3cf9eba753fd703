"""Person search's candidate blocks answered in memory (the API's serving snapshot).

:func:`views.search.search_persons` finds candidate mentions by blocks (see its module
docstring) and then scores them. In SQL at 1M mentions the blocks cost ~30 ms: the surname
block computes Jaro-Winkler on every row of its first letter's row groups. Here the same blocks
are computed on the *distinct* values instead - surnames and forenames near the query by
rapidfuzz (the same Jaro-Winkler as DuckDB's, checked on 25,000 pairs), then the rows of those
surnames are filtered with numpy - so a search's blocking costs well under a millisecond.
``tests/intel/test_search_memory.py`` checks the candidates equal SQL's on a generated world.
"""

from __future__ import annotations

from bisect import bisect_left
from datetime import date, timedelta
import numpy as np
import polars as pl
from rapidfuzz import process
from rapidfuzz.distance import JaroWinkler

from views.search_blocking import BLOCK_JW, INDEX_ROWS_SQL, Candidates, forename_block_forms, day_month_swapped
from core.store import Store
from core.store_mode import is_encoded

RECORDED_SQL = "SELECT mention_id, forename_raw, surname_raw, postcode_raw FROM mentions"

_NO_DOB = np.iinfo(np.int32).min
_EPOCH = date(1970, 1, 1)


def _codes(column: pl.Series) -> tuple[np.ndarray, list[str]]:
    """Dense codes (0 for null, 1.. in sorted order) and the vocabulary (index = code)."""
    codes = column.rank("dense").fill_null(0).cast(pl.Int32).to_numpy()
    vocab = [""] + column.drop_nulls().unique().sort().to_list()
    return codes, vocab


def _near(word: str, choices: list[str]) -> list[str]:
    """The choices with Jaro-Winkler >= BLOCK_JW to ``word``, as DuckDB's jaro_winkler_similarity
    decides it. rapidfuzz's cutoff shortcut drops scores that equal the cutoff (thomas / theo:
    0.8 exactly), so it screens a hair below and the plain similarity decides."""
    screened = process.extract(word, choices, scorer=JaroWinkler.similarity, score_cutoff=BLOCK_JW - 1e-6, limit=None)
    return [w for w, _, _ in screened if JaroWinkler.similarity(word, w) >= BLOCK_JW]


def _by_first_letter(vocab: list[str]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for word in vocab[1:]:
        groups.setdefault(word[0], []).append(word)
    return groups


class MemorySearchIndex:
    """The search index's rows (one per mention and surname key, sorted by key) as arrays."""

    def __init__(self, rows: pl.DataFrame, recorded: pl.DataFrame | None = None, encoded: bool = False) -> None:
        # nulls first, so that the surname codes (0 for null) ascend with the rows
        rows = rows.sort("sur_key", "forename", "dob", nulls_last=False)
        n = rows.height
        # candidates are codes into vocabularies (index 0: None), ranked by views.search without
        # ever becoming Python rows
        self._person, person_vocab = _codes(rows["person_id"])
        self._mention, mention_vocab = _codes(rows["mention_id"])
        self._surname, surname_vocab = _codes(rows["surname"])
        sur_codes, self._sur_vocab = _codes(rows["sur_key"])
        self._sur_start = np.searchsorted(sur_codes, np.arange(len(self._sur_vocab) + 1))  # rows sorted by key
        self._sur_code = {w: i for i, w in enumerate(self._sur_vocab) if i}
        self._sur_by_letter = _by_first_letter(self._sur_vocab)
        self._fore, self._fore_vocab = _codes(rows["forename"])
        self._fore_code = {w: i for i, w in enumerate(self._fore_vocab) if i}
        self._fore_by_letter = _by_first_letter(self._fore_vocab)
        dob = rows["dob"]
        self._dob = dob.cast(pl.Int32).fill_null(_NO_DOB).to_numpy()
        self._year = dob.dt.year().fill_null(-1).cast(pl.Int32).to_numpy()
        self._month = dob.dt.month().fill_null(-1).cast(pl.Int32).to_numpy()
        self._day = dob.dt.day().fill_null(-1).cast(pl.Int32).to_numpy()
        self._dob_order = np.argsort(self._dob, kind="stable")
        self._dob_sorted = self._dob[self._dob_order]
        pc, self._pc_vocab = _codes(rows["postcode"])
        self._pc = pc
        self._pc_code = {w: i for i, w in enumerate(self._pc_vocab) if i}
        self._pc_order = np.argsort(pc, kind="stable")
        self._pc_sorted = pc[self._pc_order]
        self.rows = n
        as_values = lambda vocab: [None, *vocab[1:]]  # noqa: E731
        self._values = (as_values(person_vocab), as_values(mention_vocab), as_values(self._fore_vocab),
                        as_values(surname_vocab), as_values(self._pc_vocab))
        self._dob_value = {int(d): _EPOCH + timedelta(days=int(d)) for d in np.unique(self._dob) if d != _NO_DOB}
        self._dob_value[int(_NO_DOB)] = None
        # names and postcode as each mention's record wrote them, in the order of the mention codes
        # (what views.search_lookup.as_recorded reads by SQL: a scan of mentions, ~10 ms at 1.1M)
        self._mention_vocab = mention_vocab
        self._recorded = None if recorded is None else pl.DataFrame({"mention_id": mention_vocab[1:]}).join(
            recorded, on="mention_id", how="left", maintain_order="left").rechunk()   # one chunk: a gather is O(rows asked)
        self.encoded = encoded   # an encoded store holds no names to search (views.search)

    @classmethod
    def build(cls, store: Store) -> MemorySearchIndex:
        return cls(store.df(INDEX_ROWS_SQL), store.df(RECORDED_SQL), is_encoded(store))

    def as_recorded(self, page: list[dict]) -> list[dict]:
        """views.search_lookup.as_recorded from memory: each candidate's forename, surname and
        postcode as its best-matching record wrote them."""
        if self._recorded is None:
            raise ValueError("this index was built without the recorded names")
        vocab = self._mention_vocab
        at = {}
        for c in page:
            m = c.get("mention_id")
            i = bisect_left(vocab, m, 1) if m else 0
            if m and i < len(vocab) and vocab[i] == m:
                at[m] = i - 1
        if not at:
            return page
        raw = dict(zip(at, self._recorded[list(at.values())].select(
            "forename_raw", "surname_raw", "postcode_raw").iter_rows()))
        for c in page:
            r = raw.get(c.get("mention_id"))
            if r is not None:
                c["forename"] = r[0] or c["forename"]
                c["surname"] = r[1] or c["surname"]
                c["postcode"] = c["postcode"] or r[2]
        return page

    # -- the blocks ------------------------------------------------------------------------------
    def _equal(self, order: np.ndarray, ordered: np.ndarray, value: int) -> np.ndarray:
        # the value in the array's own dtype: a Python int made numpy cast the whole array (0.6 ms)
        value = ordered.dtype.type(value)
        lo, hi = np.searchsorted(ordered, value, "left"), np.searchsorted(ordered, value, "right")
        return order[lo:hi]

    def candidates(self, q_fore: str | None, q_sur: str | None, q_dob: date | None, q_pc: str | None,
                   limit: int) -> Candidates:
        """Every candidate mention, once each, as codes: the mentions views.search's SQL blocks
        select (up to ``limit`` of them)."""
        fore_ok = None
        if q_fore:   # forename in the forms of the same formal name, or same initial and JW >= BLOCK_JW
            fore_ok = np.zeros(len(self._fore_vocab), dtype=bool)
            for form in forename_block_forms(q_fore):
                if form in self._fore_code:
                    fore_ok[self._fore_code[form]] = True
            for word in _near(q_fore, self._fore_by_letter.get(q_fore[0], [])):
                fore_ok[self._fore_code[word]] = True
        swapped = day_month_swapped(q_dob) if q_dob else None
        day_number = (lambda d: (d - _EPOCH).days)

        def fore(r: np.ndarray) -> np.ndarray:
            return fore_ok[self._fore[r]]

        def dob_near(r: np.ndarray) -> np.ndarray:   # two of day / month / year, or day and month swapped
            parts = ((self._year[r] == q_dob.year).astype(np.int8) + (self._month[r] == q_dob.month)
                     + (self._day[r] == q_dob.day))
            out = parts >= 2
            if swapped:
                out |= self._dob[r] == day_number(swapped)
            return out

        found: list[np.ndarray] = []
        if q_sur:
            keys = sorted({q_sur} | {p for p in q_sur.replace(" ", "-").split("-") if p})
            for k in keys:
                spans = [(self._sur_start[c], self._sur_start[c + 1])
                         for c in (self._sur_code[w] for w in _near(k, self._sur_by_letter.get(k[0], [])))]
                if not spans:
                    continue
                r = np.concatenate([np.arange(a, b) for a, b in spans])
                keep = np.zeros(len(r), dtype=bool)
                if fore_ok is not None:   # a namesake born years apart is not a candidate
                    f = fore(r)
                    if q_dob:
                        f &= (self._dob[r] == _NO_DOB) | ((self._year[r] >= q_dob.year - 2) & (self._year[r] <= q_dob.year + 2))
                    keep |= f
                if q_dob:
                    keep |= dob_near(r)
                if q_pc:
                    keep |= self._pc[r] == self._pc_code.get(q_pc, -1)
                found.append(r[keep])
        if q_dob:
            for d in [q_dob] + ([swapped] if swapped else []):
                found.append(self._equal(self._dob_order, self._dob_sorted, day_number(d)))
        if q_pc:
            code = self._pc_code.get(q_pc, -1)
            at = self._equal(self._pc_order, self._pc_sorted, code) if code > 0 else np.array([], dtype=np.int64)
            if fore_ok is not None:
                found.append(at[fore(at)])
            elif not q_sur:
                found.append(at)
        positions = np.unique(np.concatenate(found)) if found else np.array([], dtype=np.int64)
        # one entry per mention (a double-barrelled surname has a row per key): SQL's UNION
        _, first = np.unique(self._mention[positions], return_index=True)
        positions = positions[np.sort(first)[:limit]]
        return Candidates(
            codes={"person": self._person[positions], "mention": self._mention[positions],
                   "forename": self._fore[positions], "surname": self._surname[positions],
                   "dob": self._dob[positions], "postcode": self._pc[positions]},
            values=dict(zip(("person", "mention", "forename", "surname", "postcode"), self._values),
                        dob=self._dob_value))
