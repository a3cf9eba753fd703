"""findings.analytics: a small drop ingested, persons set from person_ref, findings written with
reasons and evidence; keys stable across runs, hash changes only with the evidence."""

from __future__ import annotations

import copy

import csv
import json
from pathlib import Path

import pytest

from ingest import contract
from findings.analytics import findings_for, run_analytics
from core.config import load_config
from ingest.drops import ingest_drop


def _row(source: str, rid: str, eid: str, date: str, role: str, etype: str, ref: str, uprn: str, **extra: str) -> dict:
    base = {c: "" for c in contract.COMMON_COLUMNS}
    for c in contract.SOURCE_COLUMNS[source]:
        base[c] = ""
    names = {"V": ("Sarah", "Hughes", "1991-07-14"), "O": ("Mark", "Dean", "1988-02-02"),
             "W": ("Julie", "Pike", "1993-05-05"), "C": ("Amy", "Hughes", "2015-03-03")}
    fn, sn, dob = names[ref]
    base.update(record_id=rid, event_id=eid, event_date=date, role=role, event_type=etype, person_ref=ref,
                forename=fn, surname=sn, dob=dob, sex="F", address="", postcode="", uprn=uprn, borough="X")
    base.update(extra)
    return base


def _write(folder: Path, rows: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    by_source: dict[str, list[dict]] = {}
    for source, r in rows:
        by_source.setdefault(source, []).append(r)
    for source, rs in by_source.items():
        with (folder / f"{source}.csv").open("w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rs[0]))
            w.writeheader()
            w.writerows(rs)
    return folder


def _base_rows() -> list[tuple[str, dict]]:
    rows = []
    for i, (d, dash) in enumerate([("2024-01-05", "standard"), ("2024-03-01", "medium"), ("2024-05-01", "high")]):
        rows.append(("police", _row("police", f"V{i}", f"E{i}", d, "victim", "domestic_abuse", "V", "100", dash_risk=dash)))
        rows.append(("police", _row("police", f"O{i}", f"E{i}", d, "suspect", "domestic_abuse", "O", "100", dash_risk=dash)))
    rows.append(("police", _row("police", "W1", "F1", "2024-08-01", "victim", "domestic_abuse", "W", "200")))
    rows.append(("police", _row("police", "O9", "F1", "2024-08-01", "suspect", "domestic_abuse", "O", "200")))
    rows.append(("health", _row("health", "H1", "H1", "2024-09-01", "patient", "emergency_department", "O", "200",
                                presentation="assault", safeguarding_concern="true")))
    return rows


def _link_by_ref(store) -> None:
    store.execute("DELETE FROM person_mentions")
    store.execute("INSERT INTO person_mentions (mention_id, person_id) SELECT mention_id, person_ref FROM mentions")


def test_run_analytics_writes_findings_with_reasons_and_evidence(store, tmp_path):
    ingest_drop(store, _write(tmp_path / "d1", _base_rows()))
    _link_by_ref(store)
    res = run_analytics(store, load_config())
    assert res["findings"]["repeat_victim"] == 1
    assert res["findings"]["serial_perpetrator"] == 1
    assert res["findings"]["victim_offender_overlap"] == 1
    assert res["mentions"] == 9 and res["timings"]["total"] >= 0
    rows = {r["finding_key"]: r for r in findings_for(store)}
    rv = rows["repeat_victim:V"]
    assert rv["evidence"]["events"] == ["police:E0", "police:E1", "police:E2"]
    assert rv["evidence"]["mention_ids"] == ["police:V0", "police:V1", "police:V2"]
    assert rv["evidence"]["households"] == ["uprn:100"]
    assert rv["severity"] == "high"  # DASH high in the evidence
    assert "3 distinct events" in rv["explanation"]
    sp = rows["serial_perpetrator:O"]
    assert sp["evidence"]["victims"] == ["V", "W"]
    vo = rows["victim_offender_overlap:O"]
    assert vo["evidence"]["harm_events"] == ["health:H1"]
    # the same person's findings from any rule
    assert {r["rule"] for r in findings_for(store, person_id="O")} >= {"serial_perpetrator", "victim_offender_overlap"}


def test_rerun_keeps_keys_and_hashes_and_new_evidence_changes_hash(store, tmp_path):
    ingest_drop(store, _write(tmp_path / "d1", _base_rows()))
    _link_by_ref(store)
    run_analytics(store, load_config())
    first = {r["finding_key"]: r["evidence_hash"] for r in store.rows("SELECT * FROM findings")}
    run_analytics(store, load_config())
    assert {r["finding_key"]: r["evidence_hash"] for r in store.rows("SELECT * FROM findings")} == first
    extra = [("police", _row("police", "V9", "E9", "2024-06-01", "victim", "violence", "V", "100"))]
    ingest_drop(store, _write(tmp_path / "d2", extra))
    _link_by_ref(store)
    run_analytics(store, load_config())
    second = {r["finding_key"]: r["evidence_hash"] for r in store.rows("SELECT * FROM findings")}
    assert second["repeat_victim:V"] != first["repeat_victim:V"]
    assert second["serial_perpetrator:O"] == first["serial_perpetrator:O"]


def test_config_switches_rules_and_thresholds(store, tmp_path):
    ingest_drop(store, _write(tmp_path / "d1", _base_rows()))
    _link_by_ref(store)
    cfg = copy.deepcopy(load_config())
    cfg["rules"]["repeat_victim"]["min_events"] = 4
    cfg["rules"]["serial_perpetrator"]["enabled"] = False
    res = run_analytics(store, cfg)
    assert res["findings"]["repeat_victim"] == 0 and res["findings"]["serial_perpetrator"] == 0
    assert store.scalar("SELECT count(*) FROM findings WHERE rule = 'serial_perpetrator'") == 0


def test_merged_person_ids_are_resolved(store, tmp_path):
    ingest_drop(store, _write(tmp_path / "d1", _base_rows()))
    _link_by_ref(store)
    # V's last mention still carries an old id that was merged into V
    store.execute("UPDATE person_mentions SET person_id = 'OLD' WHERE mention_id = 'police:V2'")
    store.execute("INSERT INTO persons VALUES ('OLD', 'merged', 'V', now(), NULL)")
    run_analytics(store, load_config())
    ev = json.loads(store.scalar("SELECT evidence FROM findings WHERE finding_key = 'repeat_victim:V'"))
    assert "police:V2" in ev["mention_ids"]


def test_notification_counts_and_cli(store, tmp_path):
    from typer.testing import CliRunner

    from findings.analytics import notification_counts_for
    from intel.cli import app

    ingest_drop(store, _write(tmp_path / "d1", _base_rows()))
    _link_by_ref(store)
    run_analytics(store, load_config())
    v = notification_counts_for(store, "person", "V")
    assert v["notifications"] == 3 and v["harm_notifications"] == 3 and v["police"] == 3
    o = notification_counts_for(store, "person", "O")
    assert o["notifications"] == 5 and o["harm_notifications"] == 1 and o["health"] == 1
    h = notification_counts_for(store, "household", "uprn:100")
    assert h["notifications"] == 3 and h["harm_notifications"] == 3
    db = str(store.path)
    store.close()
    res = CliRunner().invoke(app, ["analytics", "--db", db])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["findings"]["repeat_victim"] == 1
