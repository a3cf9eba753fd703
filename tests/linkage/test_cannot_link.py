"""Cannot-link pairs from the store (one event, the twin pattern), and a hub config's linkage
settings reaching Splink's comparisons and the clustering through `intel nightly --config`."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.world import generate_world
from core.config import load_config
from core.errors import IntelError
from core.store import Store
from linkage.cannot_link import cannot_link_kinds, cannot_link_pairs
from linkage.comparisons import TWIN_U
from linkage.run import link
from tests.linkage.test_run import RULES, add_mentions, partition, persons

_COLUMNS = ("mention_id, source, record_id, event_key, event_id, event_date, role, event_type, forename, surname, "
            "dob, restriction, drop_id, file_name, file_sha256, row_number, ingested_at, version")


def _mention(store: Store, source: str, record: str, event: str, forename: str, surname: str, dob: str | None) -> None:
    store.execute(f"INSERT INTO mentions ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, '2025-01-01', 'other', 'x', ?, ?, ?, "
                  "'none', 'd', 'f', 's', 1, '2025-01-02', 1)",
                  [f"{source}:{record}", source, record, f"{source}:{event}", event, forename, surname, dob])


def test_pairs_of_one_event_and_twins_but_not_nicknames_or_initials(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        _mention(store, "social_care", "A", "C1", "amelia", "khan", "2015-03-04")     # twins on one contact
        _mention(store, "social_care", "B", "C1", "isla", "khan", "2015-03-04")
        _mention(store, "health", "H", "E9", "amelia", "khan", "2015-04-03")          # the third record
        _mention(store, "police", "P1", "I1", "william", "reid", "1980-01-01")
        _mention(store, "police", "P2", "I2", "bill", "reid", "1980-01-01")           # nickname: not a twin
        _mention(store, "police", "P3", "I3", "w", "reid", "1980-01-01")              # initial: not a twin
        _mention(store, "health", "H2", "E2", "sir", "reid", "1980-01-01")            # title: not a twin
        both = copy.deepcopy(load_config())
        both["identity"]["cannot_link"] = ["same_event", "twin"]
        pairs = {(r[0], r[1]): r[2] for r in cannot_link_pairs(store, both).rows()}
        assert pairs == {("social_care:A", "social_care:B"): "same_event"}
        # scoped: only pairs touching the scope
        assert cannot_link_pairs(store, both, scope=["police:P1"]).height == 0
        _mention(store, "police", "P4", "I4", "george", "reid", "1980-01-01")         # a twin of william
        pairs = {(r[0], r[1]): r[2] for r in cannot_link_pairs(store, both, scope=["police:P4"]).rows()}
        assert pairs == {("police:P1", "police:P4"): "twin", ("police:P2", "police:P4"): "twin"}
        assert cannot_link_pairs(store, load_config(), scope=["police:P4"]).height == 0   # the default: one event only
        hub = both
        hub["linkage"]["twin_weight"] = 0          # the hub turned the twin level off
        assert cannot_link_kinds(hub) == ["same_event"]
        hub["identity"]["cannot_link"] = ["same_event", "cousins"]
        with pytest.raises(IntelError, match=r"\[identity\] cannot_link"):
            cannot_link_pairs(store, hub)


def test_hub_linkage_settings_reach_splink_through_nightly_config(tmp_path: Path) -> None:
    """The known bug: link(store, config=cfg) trained the model without the config, so a hub's
    twin_weight / edge_floor never reached Splink under `intel nightly --config`."""
    generate_world(tmp_path / "w", households=30, seed=3)
    hub = tmp_path / "hub.toml"
    hub.write_text("[linkage]\ntwin_weight = -12.5\ngeneration_m = 0.002\nedge_floor = 0.25\n"
                   "[identity]\nthreshold = 0.98\n")
    db = tmp_path / "s.duckdb"
    subprocess.run([sys.executable, "-m", "intel.cli", "init", "--db", str(db)], check=True, capture_output=True)
    out = subprocess.run([sys.executable, "-m", "intel.cli", "nightly", str(tmp_path / "w" / "drop"), "--db", str(db),
                          "--config", str(hub)], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    with Store(db, read_only=True) as store:
        model = json.loads(store.rows("SELECT model_json FROM linkage_models")[0]["model_json"])
        levels = {lv.get("label_for_charts"): lv for c in model["comparisons"] for lv in c["comparison_levels"]}
        twin = levels["different forename, same surname and dob (twin)"]
        assert twin["m_probability"] == pytest.approx(TWIN_U * 2.0 ** -12.5)
        assert levels["more than 15 years apart (a generation)"]["m_probability"] == pytest.approx(0.002)
        assert store.rows("SELECT min(match_probability) AS p FROM link_edges")[0]["p"] >= 0.25
        assert store.rows("SELECT threshold FROM link_runs")[0]["threshold"] == pytest.approx(0.98)


def test_incremental_equals_full_with_records_of_one_event(tmp_path: Path) -> None:
    """Two records of one contact (a cannot-link pair) that score as one person, then a third record
    strongly linked to both arriving in a later drop: the incremental run gives the persons a full
    run gives, and the two never share a person."""
    config = {"identity": {"threshold": 0.95, "cannot_link": ["same_event"], "trusted_ref_sources": []}}
    ann = {"forename": "ann", "surname": "lee", "dob": "2010-01-02"}
    batches = [[{"source": "social_care", "record_id": "A", **ann}, {"source": "social_care", "record_id": "B", **ann},
                {"source": "police", "record_id": "X", "forename": "bob", "surname": "kay", "dob": "1980-01-01"}],
               [{"source": "health", "record_id": "H", **ann}],
               [{"source": "police", "record_id": "P", **ann}]]

    def one_event(store: Store) -> None:
        store.execute("UPDATE mentions SET event_key = 'social_care:C1', event_id = 'C1' "
                      "WHERE mention_id IN ('social_care:A', 'social_care:B')")

    with Store(tmp_path / "inc.duckdb") as store:
        for b in batches:
            add_mentions(store, b)
            one_event(store)
            report = link(store, config=config, engine=RULES)
        incremental = partition(store)
        p = persons(store)
        assert report["mode"] == "incremental" and p["social_care:A"] != p["social_care:B"]
    with Store(tmp_path / "full.duckdb") as store:
        for b in batches:
            add_mentions(store, b)
        one_event(store)
        link(store, config=config, engine=RULES)
        assert partition(store) == incremental


def test_a_father_and_son_of_one_name_at_one_home_are_a_generation_apart(tmp_path: Path) -> None:
    """Same forename, surname and postcode (or address), birth years more than 15 apart: never one
    person (on by default); 15 years or less, another postcode, or no dob on a side: no pair."""
    with Store(tmp_path / "s.duckdb") as store:
        _mention(store, "health", "F", "E1", "steven", "grant", "1968-03-28")
        _mention(store, "health", "S", "E2", "steven", "grant", "1992-01-10")
        _mention(store, "police", "N", "P1", "steven", "grant", None)            # no dob: no pair
        _mention(store, "police", "U", "P2", "steven", "grant", "1980-05-05")    # 12 years from each
        _mention(store, "police", "O", "P3", "steven", "grant", "1995-01-01")    # another home
        _mention(store, "police", "Y", "P4", "steven", "grant", "1998-03-28")    # a typed year: 1968 / 1998
        _mention(store, "police", "Z", "P5", "steven", "grant", "1938-07-01")    # one digit off but another birthday
        store.execute("UPDATE mentions SET postcode = CASE WHEN record_id = 'O' THEN 'W2 0RB' ELSE 'W13 3TU' END")
        pairs = {(r[0], r[1]): r[2] for r in cannot_link_pairs(store, load_config()).rows()}
        # F-Y 1968 / 1998 on one birthday, F-Z 1968 / 1938 and Y-Z 1998 / 1938 one digit apart: typed
        # years, no pair; S-Z 1992 / 1938, U-Z 1980 / 1938, U-Y 1980 / 1998: two digits or more
        assert pairs == {("health:F", "health:S"): "generation", ("health:S", "police:Z"): "generation",
                         ("police:U", "police:Z"): "generation", ("police:U", "police:Y"): "generation"}
        store.execute("UPDATE mentions SET postcode = NULL, address = '17 warwick way'")
        pairs = {(r[0], r[1]): r[2] for r in cannot_link_pairs(store, load_config()).rows()}
        assert ("health:F", "police:O") in pairs and ("health:F", "police:Y") not in pairs
        assert cannot_link_pairs(store, load_config(), scope=["police:N"]).height == 0


def test_two_names_on_one_event_hold_those_names_apart_everywhere(tmp_path: Path) -> None:
    """Standard seed 49 (2026-12-07): twins "isla" and "isabella price" on one contact; names so
    alike (Jaro-Winkler >= 0.80) that the model read a spelling variant, and their GP records
    joined into one person. The contact proves the two names are two children."""
    with Store(tmp_path / "s.duckdb") as store:
        _mention(store, "social_care", "A", "C1", "isla", "price", "2013-07-21")     # twins on one contact
        _mention(store, "social_care", "B", "C1", "isabella", "price", "2013-07-21")
        _mention(store, "health", "H1", "E1", "isla", "price", "2013-07-21")         # their GP records
        _mention(store, "health", "H2", "E2", "isabella", "price", "2013-07-21")
        _mention(store, "health", "H3", "E3", "isabella", "price", "2013-07-12")     # another dob: not covered
        _mention(store, "health", "H4", "E4", "isla", "jones", "2013-07-21")         # another surname
        _mention(store, "police", "P1", "I1", "william", "reid", "1980-01-01")       # never on one event: no proof
        _mention(store, "police", "P2", "I2", "bill", "reid", "1980-01-01")
        cfg = copy.deepcopy(load_config())
        assert "named_twins" in cannot_link_kinds(cfg)                                # on by default
        cfg["identity"]["cannot_link"] = ["named_twins"]
        pairs = set(cannot_link_pairs(store, cfg).select("mention_a", "mention_b").rows())
        assert pairs == {("social_care:A", "social_care:B"), ("health:H1", "health:H2"),
                         ("health:H2", "social_care:A"), ("health:H1", "social_care:B")}
        assert set(cannot_link_pairs(store, cfg, scope=["health:H1"]).select("mention_a", "mention_b").rows()) == {
            ("health:H1", "health:H2"), ("health:H1", "social_care:B")}
        # clustering holds the GP records apart even though the model links them strongly
        from linkage.clusters import cluster_mentions
        ids = [r[0] for r in store.df("SELECT mention_id FROM mentions").rows()]
        c = cluster_mentions(ids, [("health:H1", "health:H2", 0.9999999), ("health:H1", "social_care:A", 0.99999),
                                   ("health:H2", "social_care:B", 0.99999)], 0.999,
                             cannot_link=cannot_link_pairs(store, cfg))
        assert c.cluster_of["health:H1"] != c.cluster_of["health:H2"]
        # a double-barrelled surname written three ways is one family (standard seed 66)
        _mention(store, "social_care", "C", "C2", "henry", "thompson", "2011-05-04")
        _mention(store, "social_care", "D", "C2", "oliver", "thompson roberts", "2011-05-04")
        _mention(store, "health", "H5", "E5", "henry", "roberts", "2011-05-04")
        _mention(store, "health", "H6", "E6", "oliver", "thompson-roberts", "2011-05-04")
        _mention(store, "health", "H7", "E7", "oliver", "smith", "2011-05-04")            # another family
        pairs = set(cannot_link_pairs(store, cfg, scope=["health:H5"]).select("mention_a", "mention_b").rows())
        assert pairs == {("health:H5", "health:H6"), ("health:H5", "social_care:D")}
