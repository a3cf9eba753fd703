"""The analytics snapshot in memory read through a restricted lens draws what SQL draws through
the API's lens (api/lens.py): the same rows (masked alike), distances, GraphML and picture."""

from __future__ import annotations

import pytest

from access.lens import Lens
from api.lens import apply_lens
from core.config import load_config
from core.store import Store
from findings import describe
from findings.runs import run_nightly
from fixtures.world import generate_world
from views.network_memory import NetworkSnapshot
from graphs.network_dot import to_dot
from views import network_view as network_view_module
from views.network_view import neighbourhood, network_view

CONFIG = load_config()
LENSES = [Lens.of(health_clearance=True, export=True), Lens.of(health_clearance=False, export=False),
          Lens.of(health_clearance=False, export=True)]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    base = tmp_path_factory.mktemp("netlens")
    generate_world(base / "w", households=80, seed=17)
    store = Store(base / "s.duckdb")
    run_nightly(store, base / "w" / "drop", config=CONFIG)
    yield store, NetworkSnapshot.build(store)
    store.close()


def _near_restricted(store, n: int) -> list[str]:
    """Persons with a restricted record, or sharing an event or household with one."""
    return [r["person_id"] for r in store.rows(
        "WITH r AS (SELECT event_key, household_key FROM mentions WHERE restriction <> 'none') "
        "SELECT DISTINCT n.person_id FROM network_mentions n WHERE n.event_key IN (SELECT event_key FROM r) "
        "OR n.household_key IN (SELECT household_key FROM r) ORDER BY 1 LIMIT ?", [n])]


@pytest.mark.parametrize("lens", LENSES, ids=["export", "no-health", "export-no-health"])
def test_memory_through_a_lens_reads_what_the_sql_lens_reads(world, lens, monkeypatch):
    store, memory = world
    # the picture compared as what Graphviz is given (its fdp layout is not the same twice)
    monkeypatch.setattr(network_view_module, "picture", lambda g, title, places: to_dot(g, title, places))
    persons = _near_restricted(store, 60)
    assert len(persons) == 60
    masked = 0
    for i, pid in enumerate(persons):
        hops = 1 + i % 2
        cur = store.session()
        try:
            apply_lens(cur, drop_hub_only=lens.drop_hub_only, mask_health=lens.mask_health)
            centre = cur.rows("SELECT count(*) AS n FROM network_mentions WHERE person_id = ?", [pid])[0]["n"]
            assert memory.has(pid, lens) == bool(centre), pid
            if not centre:   # only hidden rows: SQL's live-table path, not the snapshot's
                continue
            rows, distance = neighbourhood(cur, pid, hops)
            mem_rows, mem_distance = memory.neighbourhood(pid, hops, lens)
            assert mem_distance == distance, pid
            assert mem_rows.equals(rows), pid
            masked += int((mem_rows["event_type"] == "health_contact").sum())
            for fmt in ("graphml",) + (("svg",) if i % 4 == 0 else ()):
                sql = network_view(cur, pid, hops=hops, fmt=fmt, config=CONFIG, resolved=True, lens=lens)
                plain = store.session()
                try:
                    mem = network_view(plain, pid, hops=hops, fmt=fmt, config=CONFIG, resolved=True,
                                       memory=memory, lens=lens)
                finally:
                    plain.close()
                assert mem == sql, (pid, fmt)
        finally:
            cur.close()
    if lens.mask_health:
        assert masked > 0          # the masking was exercised
    # and the open lens is the snapshot itself
    pid = persons[0]
    assert memory.neighbourhood(pid, 2, Lens.of())[0].equals(memory.neighbourhood(pid, 2)[0])


@pytest.mark.parametrize("lens", [None, *LENSES], ids=["none", "export", "no-health", "export-no-health"])
def test_addresses_from_memory_are_describes(world, lens):
    """The picture's household titles: the words findings.describe.addresses reads, every dwelling."""
    store, memory = world
    keys = [r["k"] for r in store.rows("SELECT DISTINCT coalesce(md.dwelling_key, m.household_key) AS k FROM mentions m "
                                       "LEFT JOIN mention_dwellings md USING (mention_id) WHERE k IS NOT NULL ORDER BY 1")]
    assert len(keys) > 50
    for i in range(0, len(keys), 40):
        chunk = keys[i: i + 40]
        assert memory.addresses(chunk, lens) == describe.addresses(store, chunk, lens), chunk


def test_a_json_view_through_a_restricted_lens_is_not_answered_from_memory(world):
    store, memory = world
    pid = _near_restricted(store, 1)[0]
    with pytest.raises(Exception, match="SQL"):
        network_view(store, pid, fmt="json", config=CONFIG, memory=memory, lens=LENSES[1], resolved=True)
