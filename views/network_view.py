"""Network views, the I/O edge: a person's neighbourhood read from the store, drawn by graphs.network.

``network_view(store, person_id, hops=2, fmt="json")``: the person (merged ids resolved first),
read from ``network_mentions`` (the resolved mentions as the last analytics run saw them, ordered
by person; the live tables when the person is not in it),
everyone within ``hops`` person-to-person steps through a shared event or household, the events
and households that tie them. Households are the analytics' one-key-per-home households (the
``household_aliases`` the last analytics run wrote). Harm is marked by the configured harm
definition (graphs.harm), the same as the rules use.

Formats: ``json`` (Cytoscape.js elements plus the centre's findings), ``graphml`` (networkx),
``svg`` (views/network_picture.py over graphs/network_dot.py: households as boxes, people and events in words, harm in red,
large neighbourhoods collapsed into counted groups).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from access.lens import Lens
from findings import describe
from graphs import network as gnet
from graphs.harm import prepare
from core.errors import IntelError, NotFound
from core.store import Store
from graphs.network import most_frequent
from core.person_ids import parse_person_id
from linkage.identity import resolve_person_id
from views.network_memory import NetworkSnapshot, in_words
from views.network_picture import picture

FORMATS = ("json", "graphml", "svg")

_ROWS_SQL = """
SELECT m.mention_id, coalesce(p.merged_into, pm.person_id) AS person_id, m.event_key, m.source, m.event_type,
       m.role, CAST(m.event_date AS DATE) AS date, coalesce(a.canonical_key, m.household_key) AS household_key,
       m.dob, m.forename_raw AS forename, m.surname_raw AS surname,
       e.dash_risk, e.initial_rag, e.final_rag, e.presentation, e.safeguarding_concern
FROM mentions m
JOIN person_mentions pm USING (mention_id)
LEFT JOIN persons p ON p.person_id = pm.person_id AND p.status = 'merged'
LEFT JOIN events e USING (event_key)
LEFT JOIN household_aliases a ON a.household_key = m.household_key
WHERE {where}
"""


def resolve_person(store: Store, person_id: str) -> str:
    """The current id of ``person_id`` (merged ids followed); NotFound naming it. A person known
    only through the analytics' own tables (no linkage row yet) answers as itself."""
    try:
        return resolve_person_id(store, person_id)
    except NotFound:
        person_id = parse_person_id(person_id)
    if store.rows("SELECT count(*) AS n FROM person_mentions WHERE person_id = ?", [person_id])[0]["n"]:
        return person_id
    raise NotFound(f"no person {person_id!r}: not a known person id (see `intel export persons`)")


_SNAPSHOT_SQL = "SELECT * FROM network_mentions WHERE {where}"


def _in(values: list[str]) -> str:
    """A literal IN list of placeholders (lets DuckDB use the snapshot's indexes)."""
    return "(" + ",".join("?" * len(values)) + ")" if values else "(NULL)"


def _rows(store: Store, where: str, params: list[Any], snapshot: bool) -> pl.DataFrame:
    return store.df((_SNAPSHOT_SQL if snapshot else _ROWS_SQL).format(where=where), params)


def _lensed(store: Store) -> bool:
    """True when this cursor sees network_mentions through a restricting TEMP view (api/lens.py):
    then the neighbours are looked up in that view, never in the unrestricted lookup tables."""
    return bool(store.rows("SELECT 1 FROM duckdb_views() WHERE view_name = 'network_mentions' AND temporary"))


def _snapshot_state(store: Store) -> tuple[bool, bool]:
    """(the snapshot table exists, this cursor sees it through the lens): one catalogue query."""
    has, lensed = store.connection.execute(
        "SELECT (SELECT count(*) FROM duckdb_tables() WHERE table_name = 'network_mentions' AND schema_name = 'main' "
        "AND NOT temporary), (SELECT count(*) FROM duckdb_views() WHERE view_name = 'network_mentions' AND temporary)"
    ).fetchall()[0]
    return bool(has), bool(lensed)


def _people_of(store: Store, events: list[str], households: list[str], snapshot: bool,
               lensed: bool | None = None) -> set[str]:
    if snapshot:
        # through the lens the restricted view is the only truth; otherwise the lookup tables
        restricted = _lensed(store) if lensed is None else lensed
        event_table = "network_mentions" if restricted else "network_event_people"
        household_table = "network_mentions" if restricted else "network_household_people"
        found: set[str] = set()
        if events:
            found |= {r["person_id"] for r in store.rows(
                f"SELECT DISTINCT person_id FROM {event_table} WHERE event_key IN {_in(events)}", events)}
        if households:
            found |= {r["person_id"] for r in store.rows(
                f"SELECT DISTINCT person_id FROM {household_table} WHERE household_key IN {_in(households)}",
                households)}
        return found
    return {r["person_id"] for r in store.rows(
        "SELECT DISTINCT pm.person_id FROM mentions m JOIN person_mentions pm USING (mention_id) "
        "WHERE m.event_key IN (SELECT unnest(?::VARCHAR[])) OR m.household_key IN (SELECT unnest(?::VARCHAR[]))",
        [events, _aliases_of(store, households)])}


def _aliases_of(store: Store, households: list[str]) -> list[str]:
    if not households or "household_aliases" not in store.tables():
        return households
    extra = [r["household_key"] for r in store.rows(
        "SELECT household_key FROM household_aliases WHERE canonical_key IN (SELECT unnest(?::VARCHAR[]))",
        [households])]
    return sorted(set(households) | set(extra))


class _SqlSource:
    """A neighbourhood's lookups in SQL: the analytics snapshot (``network_mentions``, through the
    request's lens when it has one) or the live tables."""

    def __init__(self, store: Store, snapshot: bool, lensed: bool | None) -> None:
        self.store, self.snapshot, self.lensed = store, snapshot, lensed

    def rows(self, persons: list[str]) -> pl.DataFrame:
        pcol = "person_id" if self.snapshot else "pm.person_id"
        return _rows(self.store, f"{pcol} IN {_in(persons)}", persons, self.snapshot)

    def people_of(self, events: list[str], households: list[str]) -> set[str]:
        return _people_of(self.store, events, households, self.snapshot, self.lensed)


def neighbourhood(store: Store, person_id: str, hops: int = 2, snapshot: bool = True, *,
                  lensed: bool | None = None, centre: pl.DataFrame | None = None) -> tuple[pl.DataFrame, dict[str, int]]:
    """Mention rows of the neighbourhood and each person's distance in hops.

    ``snapshot``: read ``network_mentions`` (what the last analytics run saw: fast, harm flags
    included); otherwise the live tables (mentions, person_mentions, events). ``lensed`` (whether
    the cursor sees the snapshot through the restricted lens) and ``centre`` (the person's own
    rows, already read) spare the queries that would find them again.
    :meth:`NetworkSnapshot.neighbourhood` answers the same from memory."""
    source = _SqlSource(store, snapshot, lensed)
    distance = {person_id: 0}
    frontier = [person_id]
    collected: list[pl.DataFrame] = []
    events: set[str] = set()
    households: set[str] = set()
    for h in range(1, hops + 1):
        if not frontier:
            break
        r = centre if h == 1 and centre is not None else source.rows(frontier)
        collected.append(r)
        new_events = sorted(set(r["event_key"].to_list()) - events)
        new_households = sorted(set(r["household_key"].drop_nulls().to_list()) - households)
        events |= set(new_events)
        households |= set(new_households)
        frontier = sorted(source.people_of(new_events, new_households) - set(distance))
        for p in frontier:
            distance[p] = h
    if frontier:  # the outer ring: only their ties to what is already shown
        r = source.rows(frontier)
        r = r.filter(pl.col("event_key").is_in(list(events)) | pl.col("household_key").is_in(list(households)))
        collected.append(r)
    # in mention order: the graph's element ids follow row order, so the same request draws the
    # same ids whichever way (SQL, memory) and in whatever order the rows were found
    rows = (pl.concat(collected, how="diagonal_relaxed").unique("mention_id").sort("mention_id")
            if collected else pl.DataFrame())
    return rows, distance


def _labels(rows: pl.DataFrame) -> dict[str, str]:
    """person_id -> label: each person's most frequent name ("Forename Surname", title case; the
    smallest of equally frequent ones) with the birth year of their most frequent dob. In Python:
    a view's rows are few, and polars calls cost more than they do."""

    names: dict[str, dict[str, int]] = {}
    dobs: dict[str, dict[Any, int]] = {}
    for pid, forename, surname, dob in rows.select("person_id", "forename", "surname", "dob").iter_rows():
        if forename is not None or surname is not None:
            name = f"{forename or ''} {surname or ''}".strip().title()
            mine = names.setdefault(pid, {})
            mine[name] = mine.get(name, 0) + 1
        if dob is not None:
            d = dobs.setdefault(pid, {})
            d[dob] = d.get(dob, 0) + 1
    labels = {}
    for pid, counts in names.items():
        name = min(counts, key=lambda n: (-counts[n], n))   # most frequent, then alphabetical
        dob = most_frequent(dobs.get(pid, {}))
        labels[pid] = f"{name} (b. {dob.year})" if dob is not None else name
    # no name (an encoded store, docs/encoded-extracts.md): the first agency record reference,
    # which that agency can reveal, and how many more records the person has
    refs: dict[str, list[str]] = {}
    for pid, mention_id in rows.select("person_id", "mention_id").iter_rows():
        if pid not in labels and pid not in dobs:
            refs.setdefault(pid, []).append(mention_id)
    for pid, mine in refs.items():
        mine = sorted(set(mine))
        labels[pid] = mine[0] + (f" (+{len(mine) - 1} records)" if len(mine) > 1 else "")
    return labels


def network_view(store: Store, person_id: str, hops: int = 2, fmt: str = "json", *,
                 config: Mapping[str, Any], collapse_over: int = 8,
                 memory: NetworkSnapshot | None = None, resolved: bool = False,
                 lens: Lens | None = None) -> dict[str, Any] | str:
    """A person's network for MARAC: a dict (``json``) or the text of a GraphML or SVG document.

    ``memory``: the analytics snapshot in memory (the API's), read through ``lens`` (the viewer's;
    None: open), answering for a person it shows; ``resolved``: ``person_id`` is already the
    surviving id. Without ``memory`` the caller's cursor carries the lens (api/lens.py); ``lens``
    then only screens the addresses read (the same rows again)."""
    if fmt not in FORMATS:
        raise IntelError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    if not 1 <= int(hops) <= 4:
        raise IntelError(f"hops must be between 1 and 4, got {hops}")
    if memory is not None and fmt == "json" and lens is not None and not lens.is_open:
        raise IntelError("a JSON network view through a restricted lens is read with SQL (its findings are screened there)")
    pid = person_id if resolved else resolve_person(store, person_id)
    if memory is not None and memory.has(pid, lens):
        snapshot, source = True, memory
        rows, distance = memory.neighbourhood(pid, hops, lens)
    else:
        # the snapshot is read when it holds the person: their own rows are the first hop's, so the
        # query that finds them also decides (one query, not a count and then the same rows again)
        has_snapshot, lensed = _snapshot_state(store)
        centre = _rows(store, "person_id IN (?)", [pid], True) if has_snapshot else None
        snapshot, source = centre is not None and centre.height > 0, None
        rows, distance = neighbourhood(store, pid, hops, snapshot=snapshot, lensed=lensed,
                                       centre=centre if snapshot else None)
    if snapshot:
        m = rows
    else:  # linked since the last analytics run: the live tables, harm marked here
        m = prepare(rows, config.get("harm", {}), resolve_households=False,
                    offender_roles=config.get("rules", {}).get("victim_offender_overlap", {}).get(
                        "offender_roles", ["suspect", "alleged_perpetrator"]))
    g = gnet.build_graph(m, pid, distance, labels=_labels(rows), collapse_over=collapse_over, hops=hops)
    title = f"Network around {g.nodes[f'person:{pid}']['label']} ({pid}), {hops} hops"
    # households in words: the address their records give (of the records the lens shows in full)
    keys = [d["household_key"] for _, d in g.nodes(data=True) if d.get("type") == "household"]
    places = source.addresses(keys, lens) if source is not None else describe.addresses(store, keys, lens)
    if fmt == "svg":   # the picture for the meeting (views/network_picture.py): words, households as boxes
        return picture(g, f"People around {g.nodes[f'person:{pid}']['label']}, {hops} steps", places)
    for _, d in g.nodes(data=True):
        if d.get("type") == "household":
            d["label"] = places.get(d["household_key"], "an address not recorded")
    if fmt == "graphml":
        return gnet.to_graphml(g)
    findings = source.findings(pid) if source is not None else in_words(store, store.rows(
        "SELECT finding_key, rule, severity, explanation, evidence_hash FROM findings WHERE person_id = ? "
        "ORDER BY rule, finding_key",
        [pid]), lens)
    counts: dict[str, int] = {}
    for _, d in g.nodes(data=True):
        counts[d["type"]] = counts.get(d["type"], 0) + 1
    return {
        "person_id": pid, "requested_id": person_id, "hops": hops, "title": title,
        "source": "analytics snapshot" if snapshot else "live tables",
        "elements": gnet.to_cytoscape(g), "counts": counts, "findings": findings,
        "legend": {c: {"colour": s[0], "shape": s[1], "meaning": s[2]} for c, s in gnet.CLASS_STYLE.items()},
    }
