"""The review queue ranked by what is at stake, and `intel review` / `intel decide --review`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from findings.review import review_queue
from fixtures.world import generate_world
from findings.analytics import run_analytics
from intel.cli import app
from core.config import load_config
from ingest.drops import ingest_drop
from core.store import Store
from linkage.run import link
from tests.linkage.test_run import RULES

HUB = "[identity]\nthreshold = 0.999\nreview_threshold = 0.9\n"


def _config(path: Path) -> dict:
    return load_config(path)


@pytest.fixture(scope="session")
def world_store(tmp_path_factory) -> tuple[Path, Path]:
    """A generated world linked by the rules scorer: links across agencies score 0.98, inside the
    review band [0.9, 0.999), so most people are split across agencies and queued for review."""
    base = tmp_path_factory.mktemp("review")
    generate_world(base / "w", households=60, seed=8)
    hub = base / "hub.toml"
    hub.write_text(HUB)
    cfg = _config(hub)
    with Store(base / "s.duckdb") as store:
        ingest_drop(store, base / "w" / "drop", report_dir=base / "r")
        link(store, config=cfg, engine=RULES)
        run_analytics(store, cfg)
    return base / "s.duckdb", hub


@pytest.fixture
def copy(world_store, tmp_path) -> tuple[Path, Path]:
    db, hub = world_store
    shutil.copy(db, tmp_path / "s.duckdb")
    return tmp_path / "s.duckdb", hub


def test_items_that_complete_a_finding_rank_above_all_others(world_store):
    db, hub = world_store
    with Store(db, read_only=True) as store:
        q = review_queue(store, _config(hub), limit=None)
    items = q["items"]
    assert q["total"] == len(items) > 10 and q["completing"] > 0
    flags = [bool(it["completes_findings"]) for it in items]
    assert flags == sorted(flags, reverse=True)          # every completing item before every other
    assert [it["rank"] for it in items] == list(range(1, len(items) + 1))
    for it in items:
        assert 0.9 <= it["match_probability"] < 0.999 and it["person_a"] != it["person_b"]
        assert it["mentions_a"][0]["mention_id"] == it["mention_a"]   # the linked mention first
        assert it["mentions_b"][0]["mention_id"] == it["mention_b"]
        for f in it["completes_findings"]:
            assert set(f["group"].split("+")) >= {it["person_a"], it["person_b"]}
    rest = [it for it in items if not it["completes_findings"]]
    keys = [(-it["harmed_records"], -(it["latest_event"].toordinal() if it["latest_event"] else 0)) for it in rest]
    assert keys == sorted(keys)


def test_cli_review_and_decide_on_an_item(copy):
    db, hub = copy
    cli = CliRunner()
    out = cli.invoke(app, ["review", "--db", str(db), "--config", str(hub), "--limit", "2", "--purpose", "link review"])
    assert out.exit_code == 0, out.output
    first = json.loads(out.stdout)["items"][0]
    table = cli.invoke(app, ["review", "--db", str(db), "--config", str(hub), "--format", "table", "--limit", "3",
                             "--purpose", "link review"])
    assert table.exit_code == 0 and "would complete a finding" in table.stdout
    args = ["decide", first["mention_a"], first["mention_b"], "same", "--review", "--by", "a.analyst",
            "--reason", "same NHS number", "--db", str(db), "--config", str(hub)]
    done = cli.invoke(app, args)
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["persons_after"][first["mention_a"]] == \
        json.loads(done.stdout)["persons_after"][first["mention_b"]]
    with Store(db, read_only=True) as store:
        before = store.content_digest()
    again = cli.invoke(app, args)
    assert again.exit_code == 2 and "no longer in the review queue" in again.stderr
    bad = [(["review", "--limit", "0"], "--limit must be between 1 and 10000"),
           (["review", "--format", "xml"], "--format must be json or table"),
           (["decide", first["mention_a"], "police:NOPE", "same", "--review", "--by", "x", "--reason", "y"],
            "no record 'police:NOPE'")]
    for argv, message in bad:
        r = cli.invoke(app, argv + ["--db", str(db), "--config", str(hub)])
        assert r.exit_code == 2 and message in r.stderr, (argv, r.output)
    with Store(db, read_only=True) as store:
        assert store.content_digest() == before
