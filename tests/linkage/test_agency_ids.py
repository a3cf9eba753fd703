"""Agency-id links: the records one agency files under one of its ids enter clustering as one unit."""

from __future__ import annotations

import copy
from pathlib import Path

import polars as pl
import pytest

from core.config import load_config
from core.errors import IntelError
from core.store import Store
from linkage.agency_ids import agency_id_links
from linkage.clusters import cluster_mentions

_COLUMNS = ("mention_id, source, record_id, event_key, event_id, event_date, role, event_type, forename, surname, "
            "dob, person_ref, restriction, drop_id, file_name, file_sha256, row_number, ingested_at, version")


def _mention(store: Store, source: str, record: str, ref: str | None, forename: str = "john") -> None:
    store.execute(f"INSERT INTO mentions ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, '2025-01-01', 'other', 'x', ?, 'smith', "
                  "'1977-11-29', ?, 'none', 'd', 'f', 's', 1, '2025-01-02', 1)",
                  [f"{source}:{record}", source, record, f"{source}:E{record}", f"E{record}", forename, ref])


def test_one_agency_id_ties_its_records_and_the_config_chooses_the_sources(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        for rec in ("P1", "P2", "P3"):
            _mention(store, "police", rec, "N1")
        _mention(store, "police", "P4", "N2")
        _mention(store, "police", "P5", None)
        _mention(store, "health", "H1", "N1")        # the same string in another agency: nobody's id there
        _mention(store, "health", "H2", "N1")
        cfg = copy.deepcopy(load_config())
        pairs = set(agency_id_links(store, cfg).select("mention_a", "mention_b").rows())
        assert pairs == {("police:P1", "police:P2"), ("police:P1", "police:P3"), ("health:H1", "health:H2")}
        assert set(agency_id_links(store, cfg)["match_probability"].to_list()) == {1.0}
        # scoped: only the groups with a record in the scope
        assert set(agency_id_links(store, cfg, scope=["police:P3"]).select("mention_a", "mention_b").rows()) == {
            ("police:P1", "police:P2"), ("police:P1", "police:P3")}
        cfg["identity"]["agency_id_links"] = ["health"]
        assert agency_id_links(store, cfg).height == 1
        cfg["identity"]["agency_id_links"] = False
        assert agency_id_links(store, cfg).height == 0
        cfg["identity"]["agency_id_links"] = "police"
        with pytest.raises(IntelError, match=r"\[identity\] agency_id_links must be true, false or a list"):
            agency_id_links(store, cfg)


def test_a_typed_record_of_a_nominal_stays_with_its_nominal_not_a_namesake(tmp_path: Path) -> None:
    """bench/lookalike_chains.py, standard seed 61: "jphn smith" (police nominal N1) scored 0.9994
    against a stranger of the same name and birthday (NHS id X) and 0.997 against the nominal's
    other records; clustering filed the record, and so the nominal, under the stranger."""
    with Store(tmp_path / "s.duckdb") as store:
        for rec in ("P1", "P2"):
            _mention(store, "police", rec, "N1")
        _mention(store, "police", "P3", "N1", forename="jphn")
        _mention(store, "health", "H1", "X")          # the stranger
        _mention(store, "health", "H2", "Y")          # the nominal's own GP record
        model = [("police:P1", "police:P2", 0.99999), ("police:P1", "police:P3", 0.997),
                 ("health:H1", "police:P3", 0.9994), ("health:H2", "police:P1", 0.9995)]
        ids = [r[0] for r in store.df("SELECT mention_id FROM mentions").rows()]
        refs = {"health:H1": ("health", "X"), "health:H2": ("health", "Y")}
        plain = cluster_mentions(ids, model, 0.999, trusted_refs=refs)
        assert plain.cluster_of["police:P3"] == plain.cluster_of["health:H1"]     # the failure
        edges = pl.concat([pl.DataFrame(model, schema=["mention_a", "mention_b", "match_probability"], orient="row"),
                           agency_id_links(store, load_config())])
        c = cluster_mentions(ids, edges, 0.999, trusted_refs=refs)
        assert sorted(c.clusters()) == [["health:H1"], ["health:H2", "police:P1", "police:P2", "police:P3"]]
        assert c.probability["police:P3"] == 1.0 and not c.confirmed["police:P3"]


def test_an_incremental_run_files_a_new_record_under_its_agency_id(store: Store) -> None:
    """A record the model cannot tie to anyone (another name, no dob) joins the person its
    nominal's records are in, on a later incremental run too (its nominal's persons are in scope)."""
    from linkage.run import link
    from tests.linkage.test_run import RULES, add_mentions, partition
    ann = dict(forename="ann", surname="lee", dob="1990-01-02")
    add_mentions(store, [{"record_id": "1", "person_ref": "N1", **ann}, {"source": "health", "record_id": "2", **ann},
                         {"record_id": "3", "forename": "cat", "surname": "roe", "dob": "2001-03-04"}])
    assert link(store, config={"identity": {"threshold": 0.95}}, engine=RULES)["mode"] == "full"
    add_mentions(store, [{"record_id": "9", "forename": "anya", "surname": "leigh", "person_ref": "N1"}])
    r = link(store, config={"identity": {"threshold": 0.95}}, engine=RULES)
    assert r["mode"] == "incremental"
    assert partition(store) == [["health:2", "police:1", "police:9"], ["police:3"]]
    # a hub that turns the agency ids off: the record is a person of its own
    add_mentions(store, [{"record_id": "9", "forename": "anya", "surname": "leigh", "person_ref": "N1"}])
    link(store, config={"identity": {"threshold": 0.95, "agency_id_links": False}}, engine=RULES, full=True)
    assert partition(store) == [["health:2", "police:1"], ["police:3"], ["police:9"]]
