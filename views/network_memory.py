"""The analytics snapshot in memory (the API's serving snapshot holds one): a person's
neighbourhood walked on numpy row numbers over ``network_mentions``, the same rows
views.network_view's SQL reads, without a query - through a viewer's lens too."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import polars as pl

from access.lens import Lens
from core.sorted_frame import SortedFrame
from core.store import Store
from findings import describe
from findings.as_of import extract_date


PLACES_SCHEMA = {"key": pl.Utf8, "address_raw": pl.Utf8, "postcode": pl.Utf8, "restriction": pl.Utf8, "n": pl.Int64}
PLACES_SQL = ("SELECT coalesce(md.dwelling_key, m.household_key) AS key, m.address_raw, m.postcode, m.restriction, "
              "count(*) AS n FROM mentions m LEFT JOIN mention_dwellings md USING (mention_id) "
              "WHERE m.address_raw IS NOT NULL AND coalesce(md.dwelling_key, m.household_key) IS NOT NULL GROUP BY ALL")


class NetworkSnapshot:
    """The analytics snapshot (``network_mentions``, the event and household people, findings)
    in memory, for the API's serving snapshot: the same rows SQL reads, without a query.
    It holds every record; a neighbourhood is walked through a viewer's :class:`Lens` on the
    records' restrictions, giving the rows the API's SQL lens (api/lens.py) gives: hidden rows
    neither shown nor tying anyone in, masked rows as a health contact without harm or severity.
    Findings are for an open lens only (through a lens SQL screens them by their evidence)."""

    def __init__(self, mentions: pl.DataFrame, event_people: pl.DataFrame, household_people: pl.DataFrame,
                 findings: list[dict[str, Any]], restricted: pl.DataFrame | None = None,
                 places: pl.DataFrame | None = None) -> None:
        self._mentions = SortedFrame(mentions, "person_id")
        self._event_people = _grouped(event_people, "event_key")
        self._household_people = _grouped(household_people, "household_key")
        # a neighbourhood is walked on row numbers (numpy) and its rows gathered once at the end:
        # a polars slice, concat, filter, unique and sort per hop were a third of a view's time
        frame = self._mentions.frame
        self._event_code = frame["event_key"].rank("dense").fill_null(0).cast(pl.Int64).to_numpy()
        self._event_vocab = [None, *frame["event_key"].drop_nulls().unique().sort().to_list()]
        self._household_code = frame["household_key"].rank("dense").fill_null(0).cast(pl.Int64).to_numpy()
        self._household_vocab = [None, *frame["household_key"].drop_nulls().unique().sort().to_list()]
        self._mention_rank = frame["mention_id"].rank("ordinal").cast(pl.Int64).to_numpy()
        # each row's restriction (mentions.restriction; 'none' unless ``restricted`` names it) and
        # whether its role is other than the patient's (a NULL role is, as in SQL's lens)
        restricted = restricted if restricted is not None else pl.DataFrame(
            schema={"mention_id": pl.Utf8, "restriction": pl.Utf8})
        # (as small codes: a million Python strings would cost ~60 MB)
        code = {"hub_only": 1, "health_confidential": 2}
        self._restriction = frame["mention_id"].replace_strict(
            restricted["mention_id"], restricted["restriction"].replace_strict(code, default=3, return_dtype=pl.Int8),
            default=0, return_dtype=pl.Int8).to_numpy()
        self._not_patient = (frame["role"] != "patient").fill_null(True).to_numpy() if "role" in frame.columns \
            else np.ones(frame.height, dtype=bool)
        self._lens_rows: dict[Lens, tuple[np.ndarray, np.ndarray]] = {}
        # the addresses written at each dwelling, counted (findings.describe.addresses' rows)
        self._places = SortedFrame((places if places is not None else pl.DataFrame(schema=PLACES_SCHEMA)).sort(
            "key", maintain_order=True), "key")
        self._findings: dict[str, list[dict[str, Any]]] = {}
        for f in findings:
            self._findings.setdefault(f.pop("person_id"), []).append(f)

    @classmethod
    def build(cls, store: Store) -> NetworkSnapshot:
        with store.transaction():
            if not store.rows("SELECT 1 FROM duckdb_tables() WHERE table_name = 'network_mentions' AND NOT temporary"):
                empty = pl.DataFrame({"person_id": [], "event_key": [], "household_key": []},
                                     schema={"person_id": pl.Utf8, "event_key": pl.Utf8, "household_key": pl.Utf8})
                return cls(empty, empty.select("event_key", "person_id"), empty.select("household_key", "person_id"), [])
            # network_mentions is written ordered by person; sorted again here, stably, to be sure
            mentions = store.df("SELECT * FROM network_mentions").sort("person_id", maintain_order=True)
            events = store.df("SELECT DISTINCT event_key, person_id FROM network_event_people")
            households = store.df("SELECT DISTINCT household_key, person_id FROM network_household_people")
            findings = in_words(store, store.rows(
                "SELECT person_id, finding_key, rule, severity, explanation, evidence_hash "
                "FROM findings WHERE person_id IS NOT NULL ORDER BY rule, finding_key"))
            restricted = store.df("SELECT mention_id, restriction FROM mentions WHERE restriction <> 'none'")
            places = store.df(PLACES_SQL)
        return cls(mentions, events, households, findings, restricted, places)

    def _lensed(self, lens: Lens | None) -> tuple[np.ndarray, np.ndarray] | None:
        """(rows this lens shows, rows it masks) as boolean arrays; None for an open lens."""
        if lens is None or lens.is_open:
            return None
        if lens not in self._lens_rows:   # two numpy passes, kept per lens (a race makes the same twice)
            hidden = np.zeros(len(self._restriction), dtype=bool)
            if lens.drop_hub_only:
                hidden |= self._restriction == 1
            health = self._restriction == 2
            if lens.mask_health:
                hidden |= health & self._not_patient
            self._lens_rows[lens] = (~hidden, health & ~hidden if lens.mask_health else np.zeros_like(hidden))
        return self._lens_rows[lens]

    def _at(self, persons: list[str], shown: np.ndarray | None) -> np.ndarray:
        at = self._mentions.positions(persons)
        return at if shown is None else at[shown[at]]

    def has(self, person_id: str, lens: Lens | None = None) -> bool:
        """Whether the person has a row here (one this lens shows)."""
        rows = self._lensed(lens)
        return person_id in self._mentions and (rows is None or bool(self._at([person_id], rows[0]).size))

    def neighbourhood(self, person_id: str, hops: int, lens: Lens | None = None) -> tuple[pl.DataFrame, dict[str, int]]:
        """:func:`neighbourhood` answered from memory: the same rows, in the same order, and the
        same distances (tests/intel/test_network_view.py compares them on generated worlds); with
        a restricted ``lens``, those of the SQL lens (tests/views/test_network_lens.py)."""
        lensed = self._lensed(lens)
        shown = lensed[0] if lensed is not None else None
        distance = {person_id: 0}
        frontier = [person_id]
        taken: list[np.ndarray] = []
        events_seen = np.zeros(len(self._event_vocab), dtype=bool)
        households_seen = np.zeros(len(self._household_vocab), dtype=bool)   # [0]: no household, never seen
        for h in range(1, hops + 1):
            if not frontier:
                break
            at = self._at(frontier, shown)
            taken.append(at)
            codes = np.unique(self._event_code[at])
            new_events = codes[~events_seen[codes]]
            events_seen[new_events] = True
            codes = np.unique(self._household_code[at])
            codes = codes[codes > 0]
            new_households = codes[~households_seen[codes]]
            households_seen[new_households] = True
            found = self.people_of([self._event_vocab[c] for c in new_events.tolist()],
                                   [self._household_vocab[c] for c in new_households.tolist()]) - set(distance)
            if shown is not None:   # tied in only by a row the lens shows
                found = self._tied(found, new_events, new_households, shown)
            frontier = sorted(found)
            for p in frontier:
                distance[p] = h
        if frontier:  # the outer ring: only their ties to what is already shown
            at = self._at(frontier, shown)
            taken.append(at[events_seen[self._event_code[at]] | households_seen[self._household_code[at]]])
        at = np.unique(np.concatenate(taken))
        # one row per mention, in mention order (the graph's element ids follow row order)
        _, first = np.unique(self._mention_rank[at], return_index=True)
        rows = self._mentions.frame[at[first]]
        if lensed is not None and lensed[1][at[first]].any():   # as api/lens.py masks them
            masked = pl.Series(lensed[1][at[first]])
            rows = rows.with_columns(
                pl.when(masked).then(pl.lit("health_contact")).otherwise(pl.col("event_type")).alias("event_type"),
                pl.when(masked).then(pl.lit(False)).otherwise(pl.col("harmed")).alias("harmed"),
                pl.when(masked).then(pl.lit(None, dtype=rows.schema["severity"])).otherwise(pl.col("severity"))
                .alias("severity"))
        return rows, distance

    def _tied(self, persons: set[str], events: np.ndarray, households: np.ndarray, shown: np.ndarray) -> set[str]:
        """Of these persons, those with a shown row in one of these events or households (codes)."""
        new_event = np.zeros(len(self._event_vocab), dtype=bool)
        new_event[events] = True
        new_household = np.zeros(len(self._household_vocab), dtype=bool)
        new_household[households] = True
        tied = set()
        for p in persons:
            at = self._at([p], shown)
            if (new_event[self._event_code[at]] | new_household[self._household_code[at]]).any():
                tied.add(p)
        return tied

    def addresses(self, keys: list[str], lens: Lens | None = None) -> dict[str, str]:
        """:func:`findings.describe.addresses` answered from memory (the same words): the address
        most of the records placed at each dwelling wrote (unrestricted records first), of the
        records ``lens`` shows in full."""
        withheld = lens.withheld if lens is not None else frozenset()
        out = {}
        for key in sorted(set(keys)):
            counts: dict[tuple[str, str | None], int] = {}
            unrestricted: dict[tuple[str, str | None], int] = {}
            for r in self._places.rows([key]):
                if r["restriction"] not in withheld:
                    ap = (r["address_raw"], r["postcode"])
                    counts[ap] = counts.get(ap, 0) + r["n"]
                    unrestricted[ap] = unrestricted.get(ap, 0) + (r["n"] if r["restriction"] == "none" else 0)
            if not counts:
                continue
            # as describe.addresses orders them: most unrestricted records, most records, then address,
            # then postcode (nulls last)
            ranked = sorted(counts, key=lambda ap: (-unrestricted[ap], -counts[ap], ap[0], ap[1] is None, ap[1] or ""))
            postcode = next((pc for _, pc in ranked if pc), None)
            out[key] = describe.with_postcode(ranked[0][0], postcode)
        return out

    def people_of(self, events: list[str], households: list[str]) -> set[str]:
        found: set[str] = set()
        for e in events:
            found.update(self._event_people.get(e, ()))
        for h in households:
            found.update(self._household_people.get(h, ()))
        return found

    def findings(self, person_id: str) -> list[dict[str, Any]]:
        """The person's findings, unscreened: for an open lens only."""
        return [dict(f) for f in self._findings.get(person_id, [])]


def _grouped(frame: pl.DataFrame, key: str) -> dict[str, tuple[str, ...]]:
    g = frame.group_by(key).agg(pl.col("person_id"))
    return {k: tuple(v) for k, v in zip(g[key].to_list(), g["person_id"].to_list())}


def in_words(store: Store, findings: list[dict[str, Any]], lens: Lens | None = None) -> list[dict[str, Any]]:
    """Findings with their explanations in words (findings.describe: people, events, dwellings),
    only from the records ``lens`` shows in full (the cursor's restricting view keeps a masked
    health record, its name and address too)."""
    if not findings:
        return findings
    texts = describe.in_words(store, [f["explanation"] for f in findings], extract_date(store, datetime.now()), lens)
    return [{**f, "explanation": t} for f, t in zip(findings, texts)]
