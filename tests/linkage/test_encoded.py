"""Linking an encoded store end to end: real Splink on Bloom-filter Dice and keyed tokens, the
nightly run, chronologies, networks, alerts and every API route, with no clear identifier in
the store, the logs or any response."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
from pathlib import Path

import polars as pl
import pytest
from fastapi.testclient import TestClient

from fixtures.world import generate_world
from ingest.encode import encode_drop
from core.config import load_config
from findings.runs import run_nightly
from core.store import Store
from access.users import add_user
from linkage.evaluate import evaluate_frames

PURPOSE = {"X-Purpose": "MASH strategy discussion for a referral"}


@pytest.fixture(scope="session")
def encoded_world(tmp_path_factory):
    """A generated world, encoded, through the real nightly run (ingest, Splink, analytics,
    alerts) into an encoded store; its stderr and log records kept."""
    base = tmp_path_factory.mktemp("encoded")
    generate_world(base / "world", households=60, seed=11)
    (base / "k.key").write_text("c3" * 32)
    encode_drop(base / "world" / "drop", base / "enc", base / "k.key")
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append   # type: ignore[method-assign]
    logging.getLogger().addHandler(handler)
    stderr = io.StringIO()
    try:
        with Store(base / "enc.duckdb") as store, contextlib.redirect_stderr(stderr):
            config = load_config()
            report = run_nightly(store, base / "enc", config=config)
            token = add_user(store, "ana", "analyst", config=config)["token"]
    finally:
        logging.getLogger().removeHandler(handler)
    log_text = "\n".join(f"{r.getMessage()}" for r in records) + "\n" + stderr.getvalue()
    assert "rows to load" in log_text   # the run's progress lines were captured
    return {"base": base, "db": base / "enc.duckdb", "report": report, "token": token, "log": log_text,
            "truth": pl.read_csv(base / "world" / "truth" / "truth.csv", infer_schema_length=0)}


def clear_words(base: Path) -> set[str]:
    """The agency's clear identifiers (from its local lookup): name and address words of 4+
    letters, dobs, postcodes, person refs, UPRNs; less borough names and event dates, which stay
    in clear by design (an address holds its borough; a newborn's dob can be an event date)."""
    lookup = pl.read_csv(base / "enc.local" / "lookup.csv", infer_schema=False)
    words: set[str] = set()
    for col in ("forename", "middle_names", "surname", "address"):
        for v in lookup[col].drop_nulls():
            words |= {w for w in re.findall(r"[a-z]+", v.lower()) if len(w) >= 4}
    for col in ("dob", "person_ref", "uprn"):
        words |= {v.lower() for v in lookup[col].drop_nulls() if len(v) >= 4}
    words |= {v.lower().replace(" ", "") for v in lookup["postcode"].drop_nulls()}
    for f in (base / "world" / "drop").glob("*.csv"):
        frame = pl.read_csv(f, infer_schema=False)
        words -= {w for v in frame["borough"].drop_nulls() for w in re.findall(r"[a-z]+", v.lower())}
        for col in ("event_date", "decision_date"):
            if col in frame.columns:
                words -= {v[:10] for v in frame[col].drop_nulls()}
    return words - contract_vocabulary()


def contract_vocabulary() -> set[str]:
    """Words of the contract's own values ('green' is a RAG rating as well as a surname)."""
    from ingest import contract
    values = [*contract.SOURCES, *contract.RESTRICTIONS, *[v for vs in contract.EVENT_TYPES.values() for v in vs],
              *[v for vs in contract.ROLES.values() for v in vs],
              *[v for cols in contract.SOURCE_COLUMNS.values() for vs in cols.values() if isinstance(vs, tuple)
                for v in vs]]
    return {w for v in values for w in v.split("_")}


def leaked(text: str, words: set[str]) -> set[str]:
    cells = set(re.findall(r"[a-z0-9]+", text.lower())) | set(re.findall(r"\d{4}-\d\d-\d\d", text))
    return cells & words


def test_encoded_linking_finds_the_people(encoded_world):
    assert encoded_world["report"]["status"] == "completed"
    with Store(encoded_world["db"], read_only=True) as store:
        pred = store.df("SELECT m.source, m.record_id, pm.person_id FROM person_mentions pm JOIN mentions m "
                        "USING (mention_id)")
        model = store.scalar("SELECT model_json FROM linkage_models")
    assert "bit_count(forename_bf_l & forename_bf_r)" in model   # the encoded model, not the clear one
    res = evaluate_frames(pred, encoded_world["truth"])
    assert res["pairwise"]["precision"] >= 0.98 and res["pairwise"]["recall"] >= 0.95, res["pairwise"]


def test_no_clear_identifier_in_the_store_or_the_logs(encoded_world):
    words = clear_words(encoded_world["base"])
    assert len(words) > 200
    with Store(encoded_world["db"], read_only=True) as store:
        for table in store.tables():
            frame = store.df(f"SELECT * FROM {table}")
            text = json.dumps(frame.select([c for c, t in frame.schema.items() if t != pl.Binary]).to_dicts(),
                              default=str)
            assert not leaked(text, words), table
    assert not leaked(encoded_world["log"], words)
    assert not leaked(json.dumps(encoded_world["report"], default=str), words)


def test_every_api_response_is_free_of_clear_identifiers(encoded_world, tmp_path):
    import shutil

    from api.app import create_app

    db = tmp_path / "api.duckdb"
    shutil.copy(encoded_world["db"], db)
    words = clear_words(encoded_world["base"])
    with Store(db, read_only=True) as store:
        person = store.scalar("SELECT person_id FROM findings WHERE person_id IS NOT NULL ORDER BY person_id LIMIT 1")
        household = store.scalar("SELECT household_key FROM mentions WHERE household_key IS NOT NULL LIMIT 1")
        a, b = store.rows("SELECT mention_a, mention_b FROM link_edges ORDER BY match_probability DESC LIMIT 1")[0].values()
        reference = store.scalar("SELECT mention_id FROM person_mentions WHERE person_id = ? LIMIT 1", [person])
    headers = {"Authorization": f"Bearer {encoded_world['token']}", **PURPOSE}
    app = create_app(db)
    texts = {}
    with TestClient(app, follow_redirects=False) as client:
        urls = [f"/persons?reference={reference}", f"/persons/{person}", f"/persons/{person}/chronology",
                f"/persons/{person}/chronology?format=html", f"/persons/{person}/chronology?format=csv",
                f"/households/{household}/chronology", f"/persons/{person}/network",
                f"/persons/{person}/network?format=svg", f"/persons/{person}/network?format=graphml",
                "/alerts", f"/links/explain?a={a}&b={b}",
                "/persons?forename=anna&surname=smith", "/persons?reference=fire:F1",
                "/persons?reference=police:NOSUCH"]
        for url in urls:
            r = client.get(url, headers=headers)
            texts[url] = (r.status_code, r.text)
    app.state.runs.wait(60)
    app.state.snapshot.wait(60)
    app.state.review_queue.wait(60)
    app.state.audit_queue.close()
    app.state.store.close()
    for url, (status, text) in texts.items():
        # markup is the view's own ("white" is a colour as well as a surname): its text is checked
        assert not leaked(re.sub(r"<[^>]*>", " ", text), words), url
    assert {url: status for url, (status, _) in texts.items()
            if status != 200 and "forename" not in url and "fire" not in url} == {}
    assert texts["/persons?reference=fire:F1"][0] == 400 and "not one of" in texts["/persons?reference=fire:F1"][1]
    assert json.loads(texts["/persons?reference=police:NOSUCH"][1])["items"] == []
    found = json.loads(texts[f"/persons?reference={reference}"][1])
    assert found["items"][0]["person_id"] == person
    assert reference in found["items"][0]["references"]
    status, text = texts["/persons?forename=anna&surname=smith"]
    assert status == 400 and "search by agency record reference" in text
    chron = json.loads(texts[f"/persons/{person}/chronology"][1])
    assert any(reference in (alias.get("references") or []) for alias in chron["person"]["aliases"])
    assert json.loads(texts["/alerts"][1])["items"], "alerts are raised on pseudonymous persons"
