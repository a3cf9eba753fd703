"""The in-memory search blocks (views/search_memory.py) find exactly the candidates SQL finds:
on a generated world, for queries built from real records with typos, nicknames, swapped day
and month, missing fields and postcodes, and the ranked answers are the same."""

from __future__ import annotations

import random
from datetime import date

import pytest

from fixtures.world import generate_world
from ingest.drops import ingest_drop
from views.search import _sql_candidate_rows, search_persons
from views.search_blocking import norm_value as _norm
from views.search_memory import MemorySearchIndex
from core.store import Store


@pytest.fixture(scope="module")
def world_store(tmp_path_factory):
    base = tmp_path_factory.mktemp("search")
    generate_world(base / "w", households=200, seed=21)
    store = Store(base / "s.duckdb")
    ingest_drop(store, base / "w" / "drop")
    # every mention its own person, a few merged into one (person ids are not what is tested)
    store.execute("INSERT INTO person_mentions SELECT mention_id, 'P' || (hash(surname, dob) % 5000), 0.99, FALSE "
                  "FROM mentions")
    yield store
    store.close()


def typo(word: str, rng: random.Random) -> str:
    if len(word) < 3:
        return word
    i = rng.randrange(len(word) - 1)
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]


def queries(store: Store, n: int, seed: int):
    rng = random.Random(seed)
    recs = store.rows("SELECT forename_raw AS f, surname_raw AS s, dob, postcode FROM mentions ORDER BY mention_id")
    for r in rng.sample(recs, n):
        f, s, d, p = r["f"], r["s"], r["dob"], r["postcode"]
        kind = rng.randrange(6)
        if kind == 1 and s:
            s = typo(s, rng)
        if kind == 2 and d and d.day <= 12:
            d = date(d.year, d.day, d.month)
        if kind == 3:
            f = None
        if kind == 4:
            d = None
        if kind == 5 and f:
            f = typo(f, rng)
        yield dict(forename=f, surname=s, dob=d, postcode=p if rng.random() < 0.5 else None)


def test_same_candidates_and_answers_as_sql(world_store):
    store = world_store
    index = MemorySearchIndex.build(store)
    asked = compared = 0
    for q in queries(store, 300, seed=3):
        given = [k for k, v in q.items() if v not in (None, "")]
        if len(given) < 2:
            continue
        asked += 1
        norm = (_norm("name", q["forename"]), _norm("name", q["surname"]), q["dob"], _norm("postcode", q["postcode"]))
        sql = sorted(_sql_candidate_rows(store, *norm))
        mem = sorted(index.candidates(*norm, limit=10**9).rows())
        assert mem == sql, q
        compared += bool(sql)
        assert search_persons(store, index=index, **q) == search_persons(store, **q)
    assert asked > 200 and compared > 150


def ranked_one_row_at_a_time(rows, scorers, min_score):
    """The ranking as it was written before it was vectorised (views.search._rank): the oracle."""
    from views.search import MISSING_SCORE, WEIGHTS

    total_weight = sum(WEIGHTS[k] for k, _, _ in scorers)
    counts, held = {}, {}
    index = {"forename": 2, "surname": 3, "dob": 4, "postcode": 5}
    for row in rows:
        total = 0
        for k, fn, q in scorers:
            value = fn(q, row[index[k]])
            total += WEIGHTS[k] * (MISSING_SCORE if value is None else value)
        score = total / total_weight
        if score < min_score:
            continue
        counts[row[0]] = counts.get(row[0], 0) + 1
        before = held.get(row[0])
        if before is None or (-score, row[1]) < (-before[0], before[1]):
            held[row[0]] = (score, row[1], row)
    ranked = sorted(held.items(), key=lambda item: (-item[1][0], item[0]))
    return [(pid, round(score, 4), row[1:], counts[pid]) for pid, (score, _, row) in ranked]


def test_vectorised_ranking_equals_one_row_at_a_time(world_store):
    """Every candidate of every query, not only a page: persons, scores, the mention shown, counts."""
    from views.search import Candidates, _rank, dob_score, forename_score, postcode_score, surname_score

    index = MemorySearchIndex.build(world_store)
    checked = 0
    for q in queries(world_store, 300, seed=8):
        norm = (_norm("name", q["forename"]), _norm("name", q["surname"]), q["dob"], _norm("postcode", q["postcode"]))
        if sum(v is not None for v in norm) < 2:
            continue
        found = index.candidates(*norm, limit=10**9)
        scorers = [(k, fn, v) for k, fn, v in zip(("forename", "surname", "dob", "postcode"),
                                                  (forename_score, surname_score, dob_score, postcode_score), norm) if v]
        for min_score in (0.55, 0.0):
            total, page = _rank(found, scorers, min_score, limit=10**9, offset=0)
            want = ranked_one_row_at_a_time(found.rows(), scorers, min_score)
            assert total == len(want)
            assert [(c["person_id"], c["score"], c["matched_mentions"]) for c in page] == \
                [(pid, score, count) for pid, score, _, count in want], q
            # the fields shown are the best mention's (ties: the lower mention id)
            assert [(c["forename"], c["surname"], c["dob"], c["postcode"]) for c in page] == \
                [row[1:] for _, _, row, _ in want], q
            rows_again = Candidates.from_rows(found.rows())
            assert _rank(rows_again, scorers, min_score, 10**9, 0) == (total, page)
            checked += len(want)
    assert checked > 1000


def test_a_query_with_no_candidates_answers_empty_from_memory_and_sql(world_store):
    index = MemorySearchIndex.build(world_store)
    for q in (dict(forename="zzyzx", surname="qqqqq"), dict(forename="zzyzx", postcode="ZZ9 9ZZ"),
              dict(surname="qqqqq", dob="1850-01-01")):
        for answer in (search_persons(world_store, index=index, **q), search_persons(world_store, **q)):
            assert answer["total"] == 0 and answer["candidates"] == [] and not answer["truncated"]
