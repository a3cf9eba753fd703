"""Network views: Cytoscape JSON shape, hops, merged ids, NotFound, SVG/GraphML, collapsing, CLI."""

from __future__ import annotations

import io
import json
import re

import networkx as nx
import pytest
from typer.testing import CliRunner

from findings.analytics import run_analytics
from intel.cli import app
from core.config import load_config
from core.errors import NotFound
from core.person_ids import format_person_id
from ingest.drops import ingest_drop
from views.network_view import neighbourhood, network_view
from views.network_picture import layout
from tests.findings.test_analytics import _base_rows, _link_by_ref, _row, _write

CONFIG = load_config()
# the persons of tests/findings/test_analytics' rows, linked by their agency person_ref, with person ids
V, O, C, W, OLDV = (format_person_id(n) for n in (22, 15, 3, 23, 99))


@pytest.fixture
def world(store, tmp_path):
    rows = _base_rows()
    # the child C lives with V; W's twelve lone police events (collapsed into one group)
    rows.append(("social_care", _row("social_care", "S1", "S1", "2024-02-01", "subject_child", "neglect", "C", "100",
                                     final_rag="amber")))
    for i in range(12):
        rows.append(("police", _row("police", f"WX{i}", f"WX{i}", f"2023-0{1 + i % 9}-1{i % 9}", "reporting_person",
                                    "antisocial_behaviour", "W", "200")))
    ingest_drop(store, _write(tmp_path / "d", rows))
    _link_by_ref(store)
    for ref, pid in {"V": V, "O": O, "C": C, "W": W}.items():
        store.execute("UPDATE person_mentions SET person_id = ? WHERE person_id = ?", [pid, ref])
    run_analytics(store, load_config())
    return store


def _nodes(view, kind=None):
    return {n["data"]["id"]: n["data"] for n in view["elements"]["nodes"] if kind is None or n["data"]["type"] == kind}


def test_json_is_cytoscape_elements_with_roles_dates_and_harm(world):
    v = network_view(world, V, hops=1, config=CONFIG)
    people = _nodes(v, "person")
    assert set(people) == {"person:" + V, "person:" + O, "person:" + C}
    assert people["person:" + V]["centre"] and people["person:" + V]["cls"] == "victim"
    assert people["person:" + O]["cls"] == "suspect"
    assert people["person:" + V]["label"] == "Sarah Hughes (b. 1991)"
    assert "household:uprn:100" in _nodes(v, "household")
    label = _nodes(v, "household")["household:uprn:100"]["label"]
    assert label and "uprn:" not in label, label      # the household by its address, not its key
    edges = [e["data"] for e in v["elements"]["edges"]]
    ve = [e for e in edges if e["source"] == "person:" + V and e["target"].startswith("event:")]
    assert {e["target"] for e in ve} == {"event:police:E0", "event:police:E1", "event:police:E2"}
    assert all(e["harm"] and e["role"] == "victim" and e["date"].startswith("2024") for e in ve)
    oe = [e for e in edges if e["source"] == "person:" + O and e["target"] == "event:police:E0"]
    assert oe and not oe[0]["harm"] and oe[0]["role"] == "suspect"
    lived = [e for e in edges if e["role"] == "lived_at" and e["source"] == "person:" + V]
    assert lived and lived[0]["date"] == "2024-01-05" and lived[0]["date_to"] == "2024-05-01"
    assert {f["rule"] for f in v["findings"]} == {"repeat_victim"}


def test_two_hops_reach_further_and_collapse_lone_events(world):
    one = _nodes(network_view(world, V, hops=1, config=CONFIG), "person")
    two = network_view(world, V, hops=2, config=CONFIG)
    assert "person:" + W not in one and "person:" + W in _nodes(two, "person")  # V -> O -> W
    v = network_view(world, W, hops=1, config=CONFIG)
    groups = _nodes(v, "group")
    assert [g["label"] for g in groups.values()] == ["12 police events"]
    assert not [n for n in _nodes(v, "event") if "WX" in n]


def test_merged_and_unknown_ids(world):
    world.execute("INSERT INTO persons VALUES (?, 'active', NULL, now(), NULL), (?, 'merged', ?, now(), NULL)", [V, OLDV, V])
    assert network_view(world, OLDV, hops=1, config=CONFIG)["person_id"] == V
    with pytest.raises(NotFound, match="MI-99999999B"):
        network_view(world, "MI-99999999B", config=CONFIG)


def test_svg_and_graphml(world):
    svg = network_view(world, V, hops=2, fmt="svg", config=CONFIG)
    # the picture for the meeting (views/network_picture.py): words, households as boxes, scales to its page
    assert svg.startswith("<svg") and 'width="100%"' in svg and "viewBox=" in svg and "A4 landscape" in svg
    assert "suspect / alleged perpetrator" in svg and "Sarah Hughes (b. 1991)" in svg and "01/2024" in svg
    assert "#c62828" in svg and "shaded areas: households" in svg
    # laid out landscape (Graphviz's ratio), the shape of the A4 landscape page it prints on
    width, height = (float(v) for v in re.search(r'viewBox="0.00 0.00 ([\d.]+) ([\d.]+)"', svg).groups())
    assert 0.6 < height / width < 0.8, (width, height)
    for code in ("person:", "household:", "event:", "uprn:", "addr:", "<title>n1</title>"):
        assert code not in svg, code   # no internal id, in the drawing or the hover text
    import xml.etree.ElementTree as ET

    root = ET.fromstring(svg)  # well-formed, one element per node and edge at least
    assert root.tag.endswith("svg") and len(list(root.iter())) > 10
    g = nx.read_graphml(io.BytesIO(network_view(world, V, hops=2, fmt="graphml", config=CONFIG).encode()))
    assert g.nodes["person:" + V]["cls"] == "victim"


def test_cli_network_writes_the_file(world, tmp_path):
    db = str(world.path)
    world.close()
    out = tmp_path / "v.svg"
    res = CliRunner().invoke(app, ["network", V, "--hops", "1", "--format", "svg", "--out", str(out), "--db", db])
    assert res.exit_code == 0, res.output
    assert out.read_text().startswith("<svg")
    deeper = tmp_path / "new" / "folder" / "v.svg"   # a missing folder is made, as explain --html does
    assert CliRunner().invoke(app, ["network", V, "--format", "svg", "--out", str(deeper), "--db", db]).exit_code == 0
    assert deeper.read_text().startswith("<svg")
    res = CliRunner().invoke(app, ["network", V, "--format", "svg", "--out", str(out / "x.svg"), "--db", db])
    assert res.exit_code == 2 and f"--out {out / 'x.svg'}: cannot write the view there" in res.stderr, res.output
    res = CliRunner().invoke(app, ["network", "MI-99999999B", "--db", db])
    assert res.exit_code == 2
    res = CliRunner().invoke(app, ["network", V, "--db", db, "--hops", "1"])
    assert json.loads(res.stdout)["person_id"] == V


def test_live_tables_when_not_in_the_analytics_snapshot(world):
    snap = network_view(world, V, hops=2, config=CONFIG)
    assert snap["source"] == "analytics snapshot"
    world.execute("DELETE FROM network_mentions")
    live = network_view(world, V, hops=2, config=CONFIG)
    assert live["source"] == "live tables"
    assert set(_nodes(live)) == set(_nodes(snap))

    def edges(v):
        return {(*sorted((e["data"]["source"], e["data"]["target"])), e["data"]["role"], e["data"]["harm"])
                for e in v["elements"]["edges"]}

    assert edges(live) == edges(snap)


def test_a_restricting_view_over_the_snapshot_is_respected(world):
    """When a cursor shadows network_mentions with a TEMP view (the API's lens), people tied only
    through rows the view hides do not appear."""
    db = world.rows("SELECT current_database() AS d")[0]["d"]
    real = f'"{db}".main.network_mentions'
    world.execute(f"CREATE OR REPLACE TEMP VIEW network_mentions AS SELECT * FROM {real} "
                  "WHERE event_key <> 'police:E0'")
    v = network_view(world, V, hops=1, config=CONFIG)
    assert "event:police:E0" not in _nodes(v)
    # O's part in the events with V is hidden; O's other records are not: O must not appear as V's tie
    world.execute(f"CREATE OR REPLACE TEMP VIEW network_mentions AS SELECT * FROM {real} "
                  f"WHERE NOT (person_id = '{O}' AND event_key IN ('police:E0', 'police:E1', 'police:E2'))")
    assert "person:" + O not in _nodes(network_view(world, V, hops=2, config=CONFIG))
    world.execute("DROP VIEW temp.main.network_mentions")
    assert "person:" + O in _nodes(network_view(world, V, hops=2, config=CONFIG))


def _canonical(view):
    """A view with its element lists in a fixed order (the graph's own order follows row order)."""
    out = dict(view)
    out["elements"] = {k: sorted(v, key=lambda e: json.dumps(e, sort_keys=True, default=str))
                       for k, v in view["elements"].items()}
    return json.loads(json.dumps(out, sort_keys=True, default=str))


def test_the_snapshot_in_memory_draws_what_sql_draws(tmp_path_factory):
    from fixtures.world import generate_world
    from views.network_memory import NetworkSnapshot
    from findings.runs import run_nightly
    from core.store import Store

    base = tmp_path_factory.mktemp("netmem")
    generate_world(base / "w", households=120, seed=31)
    with Store(base / "s.duckdb") as store:
        run_nightly(store, base / "w" / "drop", config=CONFIG)
        memory = NetworkSnapshot.build(store)
        persons = [r["person_id"] for r in store.rows(
            "SELECT DISTINCT person_id FROM network_mentions ORDER BY person_id")]
        assert len(persons) > 200
        with_findings = 0
        for i, pid in enumerate(persons[:250]):
            hops = 1 + i % 3
            sql = network_view(store, pid, hops=hops, config=CONFIG)
            assert _canonical(network_view(store, pid, hops=hops, memory=memory, resolved=True, config=CONFIG)) == _canonical(sql), pid
            # the rows themselves, in order (element ids follow it), and the distances
            rows, distance = neighbourhood(store, pid, hops)
            mem_rows, mem_distance = memory.neighbourhood(pid, hops)
            assert mem_distance == distance and mem_rows.equals(rows), pid
            with_findings += bool(sql["findings"])
        assert with_findings > 0
        # a person the snapshot does not hold: the live tables, as without it
        assert not memory.has("no-such-person")


def test_findings_here_are_in_words_from_sql_and_from_memory(world):
    """A finding's reason names events and people by their ids; the network view says them in words
    (whether it reads SQL or the snapshot in memory), ids kept only beside names."""
    from views.network_view import NetworkSnapshot

    world.execute(f"UPDATE findings SET explanation = 'Harmed in 2 events (police:E1, police:E0), suspect {O}, "
                  "reported by social_care.' WHERE person_id = ?", [V])
    from_sql = network_view(world, V, hops=1, config=CONFIG)["findings"]
    from_memory = network_view(world, V, hops=1, config=CONFIG, memory=NetworkSnapshot.build(world))["findings"]
    for found in (from_sql, from_memory):
        [text] = [f["explanation"] for f in found]
        assert "police:E" not in text and "social_care" not in text, text
        assert text.startswith("Harmed in 2 events (police domestic abuse on 2024-"), text
        assert "reported by children's social care" in text


def test_a_repeat_picture_is_the_kept_layout_and_another_lens_is_laid_out_anew(world):
    layout.cache_clear()   # other tests' pictures may be kept
    first = network_view(world, V, hops=2, fmt="svg", config=CONFIG)
    before = layout.cache_info()
    again = network_view(world, V, hops=2, fmt="svg", config=CONFIG)
    kept = layout.cache_info()
    assert again == first and kept.hits == before.hits + 1 and kept.misses == before.misses
    other = network_view(world, V, hops=1, fmt="svg", config=CONFIG)   # another lens: its own layout
    assert other != first and layout.cache_info().misses == kept.misses + 1
