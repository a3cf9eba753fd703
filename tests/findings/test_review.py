"""The review queue ranked by what is at stake, and `intel review` / `intel decide --review`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from findings.review import KEY_MENTIONS, MENTION_FIELDS, key_mentions, review_queue
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


def test_queue_holds_what_is_at_stake_and_all_lists_the_band(world_store, copy):
    """The queue: items completing a finding or touching a harmed or offending person; --all
    adds the band's other links after them, and the counts add up."""
    db, hub = world_store
    with Store(db, read_only=True) as store:
        q = review_queue(store, _config(hub), limit=None)
        every = review_queue(store, _config(hub), limit=None, everything=True)
        stakes = {r["person_id"]: r["n"] for r in store.rows(
            "SELECT person_id, count(*) FILTER (WHERE harmed OR offender) AS n FROM network_mentions GROUP BY 1")}
    assert q["scope"] == "at_stake" and every["scope"] == "all"
    assert every["total"] == every["band_links"] == q["band_links"] == q["total"] + q["not_at_stake"]
    assert q["not_at_stake"] > 0 and q["total"] > 0
    for it in q["items"]:
        assert it["at_stake"] and (it["completes_findings"] or stakes.get(it["person_a"]) or stakes.get(it["person_b"]))
    rest = [it for it in every["items"] if not it["at_stake"]]
    assert len(rest) == q["not_at_stake"]
    for it in rest:
        assert not it["completes_findings"] and not stakes.get(it["person_a"]) and not stakes.get(it["person_b"])
    flags = [it["at_stake"] for it in every["items"]]
    assert flags == sorted(flags, reverse=True)              # nothing at stake ranks last
    assert [it["item_id"] for it in every["items"][:q["total"]]] == [it["item_id"] for it in q["items"]]
    cli, db = CliRunner(), copy[0]    # a copy: an audited read writes to the store
    table = cli.invoke(app, ["review", "--db", str(db), "--config", str(hub), "--format", "table", "--limit", "3",
                             "--purpose", "link review"])
    assert table.exit_code == 0 and f"{q['not_at_stake']} more with nothing at stake" in table.stdout
    out = cli.invoke(app, ["review", "--db", str(db), "--config", str(hub), "--all", "--limit", "10000",
                           "--purpose", "link review"])
    assert out.exit_code == 0 and json.loads(out.stdout)["total"] == every["total"]


def test_key_mentions_read_together_equal_one_query_per_person(world_store):
    """The page's key mentions in one query are what one query per person (as it was) read."""
    db, hub = world_store
    with Store(db, read_only=True) as store:
        items = review_queue(store, _config(hub), limit=None)["items"]
        wanted = [(it["person_a"], it["mention_a"]) for it in items] + [(it["person_b"], it["mention_a"])
                                                                         for it in items]   # linked elsewhere too
        one_by_one = [store.rows(
            f"SELECT {', '.join('m.' + c for c in MENTION_FIELDS)} FROM person_mentions pm JOIN mentions m "
            "USING (mention_id) WHERE pm.person_id = ? ORDER BY (m.mention_id = ?) DESC, m.event_date DESC, "
            "m.mention_id LIMIT ?", [p, m, KEY_MENTIONS]) for p, m in wanted]
        assert key_mentions(store, wanted) == one_by_one
    assert len(wanted) > 20 and any(len(r) == KEY_MENTIONS for r in one_by_one)


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
