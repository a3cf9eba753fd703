"""Search's blocking and its query values: how a query's name, date of birth and postcode are
normalised (as an ingested record is), which forms of a forename block together, the rows of
the search index, and the candidates found, as columns of codes. Shared by the SQL search
(views/search.py) and the in-memory index (views/search_memory.py), which must block alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import numpy as np
import polars as pl

from core.errors import IntelError
from ingest import normalise
from linkage.features import nickname_pairs

WEIGHTS = {"forename": 0.25, "surname": 0.35, "dob": 0.30, "postcode": 0.10}
BLOCK_JW = 0.80
MISSING_SCORE = 0.3
MIN_SCORE = 0.55
MAX_CANDIDATE_MENTIONS = 20000


@lru_cache(maxsize=1)
def nicknames() -> dict[str, frozenset[str]]:
    """name -> every formal form it may stand for (a formal name stands for itself)."""

    forms: dict[str, set[str]] = {}
    for nick, canon in nickname_pairs():
        forms.setdefault(nick, {nick}).add(canon)
        forms.setdefault(canon, {canon})
    return {k: frozenset(v) for k, v in forms.items()}


def name_forms(name: str) -> frozenset[str]:
    return nicknames().get(name, frozenset({name}))


def norm_value(kind: str, value: str | None) -> str | None:
    if value is None or str(value).strip() == "":
        return None
    return normalised_query_value(kind, str(value))


@lru_cache(maxsize=65536)
def normalised_query_value(kind: str, value: str) -> str | None:
    """The query normalised as ingest normalises a record (a polars expression: ~0.6 ms a call,
    so the same value is not normalised twice)."""
    fn = {"name": normalise.name, "postcode": normalise.postcode}[kind]
    return pl.select(fn(pl.lit(value, dtype=pl.Utf8))).item()


@lru_cache(maxsize=8192)
def forename_block_forms(q_fore: str) -> list[str]:
    """Every name that is a form of the same formal name as ``q_fore`` (the forename block's
    list): one pass over the nickname table (it was a pass calling name_forms per entry, ~5 ms a search)."""
    mine = name_forms(q_fore)
    return sorted(mine | {n for n, fs in nicknames().items() if fs & mine})


def parse_dob(value: str | date | None) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    text = str(value).strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y"):
        try:

            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise IntelError(f"dob must be a date, YYYY-MM-DD or DD/MM/YYYY; got {value!r}")


def day_month_swapped(d: date) -> date | None:
    if d.day > 12 or d.day == d.month:
        return None
    try:
        return date(d.year, d.day, d.month)
    except ValueError:
        return None


# One row per mention and surname key: the surname, and each part of a double-barrelled one.
INDEX_ROWS_SQL = (
    "SELECT pm.person_id, m.mention_id, m.forename, m.surname, m.dob, m.postcode, k.sur_key "
    "FROM mentions m JOIN person_mentions pm USING (mention_id), "
    "(SELECT unnest(CASE WHEN m.surname IS NULL THEN [NULL::VARCHAR] ELSE list_filter(list_distinct(list_append("
    "string_split(replace(m.surname, ' ', '-'), '-'), m.surname)), lambda x: x <> '') END) AS sur_key) k")


@dataclass(frozen=True)
class Candidates:
    """Candidate mentions as columns of codes, one entry per mention: ``codes[col][i]`` indexes
    ``values[col]`` for the columns person, mention, forename, surname, dob and postcode. Codes
    of person and mention ascend with their ids (ties are broken by id, so order must survive
    coding). Columns, not rows, because under load turning ~400 candidates into Python tuples
    and scoring them one by one was most of a search's time; the candidates share few distinct
    values, so each distinct value is scored once and the rest is numpy."""

    codes: dict[str, np.ndarray]
    values: dict[str, Any]        # col -> a list or dict indexed by code (code 0: missing)

    def __len__(self) -> int:
        return len(self.codes["mention"])

    def rows(self) -> list[tuple[Any, ...]]:
        """(person_id, mention_id, forename, surname, dob, postcode) per candidate."""
        cols = [[self.values[c][k] for k in self.codes[c].tolist()] for c in CANDIDATE_COLUMNS]
        return list(zip(*cols))

    @classmethod
    def from_rows(cls, rows: list[tuple[Any, ...]]) -> Candidates:
        codes, values = {}, {}
        for i, col in enumerate(CANDIDATE_COLUMNS):
            column = [row[i] for row in rows]
            vocab = [None, *sorted({v for v in column if v is not None})]
            index = {v: k for k, v in enumerate(vocab)}
            codes[col] = np.array([index[v] for v in column], dtype=np.int64)
            values[col] = vocab
        return cls(codes, values)


CANDIDATE_COLUMNS = ("person", "mention", "forename", "surname", "dob", "postcode")
