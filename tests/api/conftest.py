"""A small hand-made world, run through the real nightly run, and a client per role.

People (mentions are linked by a transparent rules engine with the scoring interface, so which
records are one person is known; the Splink model is tested in tests/linkage):
- Sarah Hughes: police domestic-abuse victim (twice), a health_confidential ED visit, a hub_only
  police record; her partner Mark Hughes is the suspect; their child Lily is in social care.
- Tom Brown: a missing-person report and a GP visit, no domestic abuse.
- Jon Smith (police) and John Smith (social care): same dob and surname but not linked by the
  engine (two of four identifiers), so a 'same' decision merges them.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ingest import contract
from core.config import load_config
from core.store import Store
from tests.stand_in_scorer import rules_engine
from access.users import add_user

CONFIG = load_config()

ROLES = ("analyst", "marac", "admin", "manager")
PURPOSE = {"X-Purpose": "MASH strategy discussion for a referral"}


def row(source: str, **kw: str) -> dict[str, str]:
    base = {c: "" for c in contract.COMMON_COLUMNS}
    for column in contract.SOURCE_COLUMNS[source]:
        base[column] = ""
    base.update(borough="Northborough", sex="U")
    base.update(kw)
    return base


def write_drop(folder: Path, files: dict[str, list[dict[str, str]]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in files.items():
        with (folder / name).open("w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    return folder


SARAH = dict(forename="Sarah", surname="Hughes", dob="1991-07-14", sex="F", address="4 Mill Lane", postcode="NB1 4QL")
MARK = dict(forename="Mark", surname="Hughes", dob="1988-02-03", sex="M", address="4 Mill Lane", postcode="NB1 4QL")
LILY = dict(forename="Lily", surname="Hughes", dob="2016-05-20", sex="F", address="4 Mill Lane", postcode="NB1 4QL")
TOM = dict(forename="Tom", surname="Brown", dob="1979-11-30", sex="M", address="9 High Street", postcode="NB2 7XY")


def first_drop() -> dict[str, list[dict[str, str]]]:
    police = [
        row("police", record_id="P1", event_id="E1", event_date="2025-01-10T22:00:00", role="victim",
            event_type="domestic_abuse", dash_risk="high", person_ref="N1", **SARAH),
        row("police", record_id="P2", event_id="E1", event_date="2025-01-10T22:00:00", role="suspect",
            event_type="domestic_abuse", dash_risk="high", person_ref="N2", **MARK),
        row("police", record_id="P3", event_id="E1", event_date="2025-01-10T22:00:00", role="child_present",
            event_type="domestic_abuse", dash_risk="high", person_ref="N3", **LILY),
        row("police", record_id="P4", event_id="E2", event_date="2025-03-02T23:15:00", role="victim",
            event_type="domestic_abuse", dash_risk="medium", person_ref="N1", **SARAH),
        row("police", record_id="P5", event_id="E3", event_date="2025-04-01T10:00:00", role="subject",
            event_type="child_concern", person_ref="N1", restriction="hub_only", **SARAH),
        row("police", record_id="P6", event_id="E4", event_date="2025-02-01T08:00:00", role="subject",
            event_type="missing_person", person_ref="N9", **TOM),
        row("police", record_id="P7", event_id="E5", event_date="2025-02-05T08:00:00", role="subject",
            event_type="other", person_ref="N20", forename="Jon", surname="Smith", dob="1990-01-02",
            address="1 Oak Road", postcode="NB3 1AA"),
    ]
    social = [
        row("social_care", record_id="S1", event_id="C1", event_date="2025-01-11T09:00:00", role="subject_child",
            event_type="domestic_abuse", referral_source="police", initial_rag="amber", final_rag="red",
            decision_date="2025-01-11T15:00:00", outcome="strategy_discussion", person_ref="C1", **LILY),
        row("social_care", record_id="S2", event_id="C2", event_date="2025-02-06T09:00:00", role="subject_child",
            event_type="other", referral_source="school" if False else "education", initial_rag="green",
            final_rag="green", outcome="nfa", person_ref="C77", forename="John", surname="Smith",
            dob="1990-01-02", address="12 Elm Road", postcode="NB4 2BB"),
    ]
    health = [
        row("health", record_id="H1", event_id="A1", event_date="2025-03-03T01:00:00", role="patient",
            event_type="emergency_department", presentation="assault", safeguarding_concern="true",
            person_ref="NHS1", restriction="health_confidential", **SARAH),
        row("health", record_id="H2", event_id="A2", event_date="2025-02-10T11:00:00", role="patient",
            event_type="gp", presentation="other", safeguarding_concern="false", person_ref="NHS9", **TOM),
    ]
    return {"police.csv": police, "social_care.csv": social, "health.csv": health}


def second_drop() -> dict[str, list[dict[str, str]]]:
    return {"police_2.csv": [
        row("police", record_id="P8", event_id="E6", event_date="2025-05-01T21:00:00", role="victim",
            event_type="domestic_abuse", dash_risk="standard", person_ref="N1", **SARAH),
    ]}


# -- the transparent stand-in scorer, its links above the identity threshold ------------------
ENGINE = rules_engine(four=0.99999, three=0.9999)


@pytest.fixture(scope="session")
def world(tmp_path_factory) -> dict[str, Any]:
    """The base store after one nightly run, plus user tokens; copied per test that writes."""
    from findings.runs import run_nightly

    base = tmp_path_factory.mktemp("world")
    db_file = base / "base.duckdb"
    drop = write_drop(base / "drop1", first_drop())
    drop2 = write_drop(base / "drop2", second_drop())
    tokens = {}
    with Store(db_file) as store:
        run_nightly(store, drop, config=load_config(), link_engine=ENGINE)
        for role in ROLES:
            tokens[role] = add_user(store, f"{role}1", role, config=CONFIG)["token"]
        revoked = add_user(store, "gone", "analyst", config=CONFIG)
        store.execute("UPDATE users SET revoked_at = now() WHERE name = 'gone'")
        person = dict(store.df(
            "SELECT m.mention_id, pm.person_id FROM person_mentions pm JOIN mentions m USING (mention_id)").rows())
        households = dict(store.df("SELECT mention_id, household_key FROM mentions").rows())
    return {"db": db_file, "drop2": drop2, "tokens": tokens, "revoked_token": revoked["token"],
            "person": person, "household": households, "dir": base}


@pytest.fixture
def db_copy(world, tmp_path) -> Path:
    target = tmp_path / "api.duckdb"
    shutil.copy(world["db"], target)
    shutil.copytree(world["drop2"], tmp_path / "drops" / "drop2")   # POST /runs reads drops/ beside the store
    return target


class Clients(SimpleNamespace):
    def auth(self, role: str, purpose: bool = True) -> dict[str, str]:
        h = {"Authorization": f"Bearer {self.tokens[role]}"}
        if purpose:
            h.update(PURPOSE)
        return h

    def get(self, role: str, url: str, purpose: bool = True, **kw: Any):
        return self.client.get(url, headers=self.auth(role, purpose), **kw)

    def post(self, role: str, url: str, json: Any = None, purpose: bool = True, **kw: Any):
        return self.client.post(url, headers=self.auth(role, purpose), json=json, **kw)

    def audit(self) -> list[dict[str, Any]]:
        self.app.state.audit_queue.sync()   # journaled entries reach audit_log in batches
        s = self.app.state.store.session()
        try:
            return s.rows("SELECT * FROM audit_log ORDER BY seq")
        finally:
            s.close()


@pytest.fixture
def api(world, db_copy):
    from api.app import create_app

    app = create_app(db_copy, run_options={"link_engine": ENGINE})
    with TestClient(app, follow_redirects=False) as client:
        yield Clients(client=client, app=app, tokens=world["tokens"], world=world)
    app.state.runs.wait(60)
    app.state.snapshot.wait(60)
    app.state.review_queue.wait(60)
    app.state.alert_queue.stop()
    app.state.audit_queue.close()
    app.state.store.close()
