"""Export covers every mention; the CLI commands print JSON and refuse bad input with exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from intel.cli import app
from core.errors import IntelError
from core.store import Store
from linkage.export import export_persons
from tests.linkage.test_run import persons, run, seed


def test_export_covers_every_mention_including_unlinkable(store, tmp_path: Path):
    seed(store)
    with pytest.raises(IntelError, match="intel link"):
        export_persons(store, tmp_path / "p.csv")
    run(store)
    r = export_persons(store, tmp_path / "out" / "p.csv")
    got = pl.read_csv(tmp_path / "out" / "p.csv", infer_schema=False)
    assert got.columns == ["source", "record_id", "person_id", "link_probability"]
    assert r["rows"] == got.height == 7
    mentions = set(store.df("SELECT source || ':' || record_id AS m FROM mentions")["m"])
    assert set((got["source"] + ":" + got["record_id"]).to_list()) == mentions
    u = got.filter(pl.col("record_id") == "u")
    assert u["person_id"][0] == persons(store)["police:u"] and u["link_probability"][0] is None
    assert r["singletons"] == 2


def test_cli_export_decide_and_evaluate(tmp_path: Path, monkeypatch):
    # the hub's config file sets the threshold the rule scorer's probabilities are made for
    (tmp_path / "hub.toml").write_text("[identity]\nthreshold = 0.95\n")
    monkeypatch.setenv("INTEL_CONFIG", str(tmp_path / "hub.toml"))
    db = tmp_path / "cli.duckdb"
    with Store(db) as s:
        seed(s)
        run(s)
    cli = CliRunner()
    out = cli.invoke(app, ["export", "persons", "--out", str(tmp_path / "p.csv"), "--db", str(db)])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["rows"] == 7

    bad = cli.invoke(app, ["decide", "police:1", "police:zz", "same", "--by", "a", "--reason", "b", "--db", str(db)])
    assert bad.exit_code == 2 and "police:zz" in bad.stderr
    ok = cli.invoke(app, ["decide", "police:1", "police:2", "different", "--by", "a.b", "--reason", "twins",
                          "--db", str(db)])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["decision"] == "different"

    truth = tmp_path / "truth.csv"
    truth.write_text("source,record_id,person\npolice,1,ann\npolice,2,ann\nhealth,h1,ann\npolice,3,bob\n"
                     "social_care,s1,bob\npolice,u,ann\npolice,4,cat\n")
    ev = cli.invoke(app, ["evaluate", str(truth), "--db", str(db)])
    assert ev.exit_code == 0, ev.output
    res = json.loads(ev.stdout)
    # predicted {1,h1} {2} {3,s1} {u} {4}; truth {1,2,h1,u} {3,s1} {4}: TP 2 of 2 predicted, 7 true pairs
    assert res["pairwise"]["precision"] == 1.0
    assert res["pairwise"]["recall"] == pytest.approx(2 / 7)
    sw = cli.invoke(app, ["evaluate", str(truth), "--db", str(db), "--sweep", "0.5,0.95"])
    assert sw.exit_code == 0, sw.output
    by_t = {x["threshold"]: x for x in json.loads(sw.stdout)["sweep"]}
    # at 0.95 the rules give {1,2,h1} {3,s1}, with the decision 1 != 2 held: {1,h1} {2} {3,s1} {u} {4}
    assert by_t[0.95]["pairwise"]["true_positive_pairs"] == 2 and by_t[0.95]["persons"] == 5
    (tmp_path / "bad.csv").write_text("source,record_id\npolice,1\n")
    refused = cli.invoke(app, ["evaluate", str(tmp_path / "bad.csv"), "--db", str(db)])
    assert refused.exit_code == 2 and "person" in refused.stderr
