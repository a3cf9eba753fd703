"""One small world (tests/api's hand-made one, through the real nightly run), one served
application over it, and helpers to sign in as each role (TestClient, or a real browser)."""

from __future__ import annotations

import re
import shutil
import socket
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient

from access.users import add_user
from core.config import load_config
from core.store import Store
from findings.runs import run_nightly
from tests.api.conftest import ROLES, first_drop, write_drop
from tests.stand_in_scorer import rules_engine
from web import served_app

# tests/api's scorer, but two agreeing fields score 0.9, in the review band: Jon Smith (police) and
# John Smith (social care) are the one doubtful link, the review queue's one item
ENGINE = rules_engine(four=0.99999, three=0.9999, two=0.9)
PURPOSE = {"case_ref": "MASH-2026-0142", "reason": "strategy discussion for a police referral"}


@pytest.fixture(scope="session")
def web_world(tmp_path_factory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("web")
    db_file = base / "base.duckdb"
    config = load_config()
    with Store(db_file) as store:
        run_nightly(store, write_drop(base / "drop1", first_drop()), config=config, link_engine=ENGINE)
        tokens = {role: add_user(store, f"{role}1", role, config=config)["token"] for role in ROLES}
        people = dict(store.df("SELECT m.mention_id, pm.person_id FROM person_mentions pm "
                               "JOIN mentions m USING (mention_id)").rows())
        restricted = store.rows("SELECT mention_id, event_key, restriction FROM mentions WHERE restriction <> 'none'")
    return {"db": db_file, "tokens": tokens, "person": people, "restricted": restricted, "dir": base}


def _app(db: Path):
    """The application as intel serve runs it: the alert queue kept in memory (read before the
    first page here, so every alerts page is answered from it)."""
    app = served_app(db, run_options={"link_engine": ENGINE})
    app.state.alert_queue.build_later()
    app.state.alert_queue.wait(60)
    return app


def _close(app) -> None:
    app.state.alert_queue.stop()
    app.state.runs.wait(60)
    app.state.snapshot.wait(60)
    app.state.review_queue.wait(60)
    app.state.audit_queue.close()
    app.state.store.close()


CSRF = re.compile(r'name="csrf" value="([^"]*)"')


class Web(SimpleNamespace):
    """A TestClient that signs in through the forms, as a browser would."""

    def csrf(self, html: str) -> str:
        return CSRF.search(html).group(1)

    def sign_in(self, role: str, purpose: bool = True):
        page = self.client.get("/w/signin")
        r = self.client.post("/w/signin", data={"csrf": self.csrf(page.text), "token": self.tokens[role],
                                                "next": "/w/"}, follow_redirects=True)
        if purpose:
            r = self.client.post("/w/purpose", data={"csrf": self.csrf(r.text), "next": "/w/", **PURPOSE},
                                 follow_redirects=True)
        return r

    def audit(self) -> list[dict[str, Any]]:
        self.app.state.audit_queue.sync()
        s = self.app.state.store.session()
        try:
            return s.rows("SELECT * FROM audit_log ORDER BY seq")
        finally:
            s.close()


@pytest.fixture
def web(web_world, tmp_path):
    """A fresh copy of the world per test (tests here write: alerts, decisions, sessions)."""
    db = tmp_path / "web.duckdb"
    shutil.copy(web_world["db"], db)
    app = _app(db)
    with TestClient(app, follow_redirects=False) as client:
        yield Web(client=client, app=app, tokens=web_world["tokens"], world=web_world)
    _close(app)


# -- a real browser over a real server --------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(web_world, tmp_path_factory):
    db = tmp_path_factory.mktemp("live") / "live.duckdb"
    shutil.copy(web_world["db"], db)
    app = _app(db)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    yield SimpleNamespace(url=f"http://127.0.0.1:{port}", app=app, tokens=web_world["tokens"], world=web_world)
    server.should_exit = True
    thread.join(10)
    _close(app)


@pytest.fixture(scope="session")
def browser_factory():
    webdriver = pytest.importorskip("selenium.webdriver")
    # ./run test installs them (as root with apt-get); without them the browser tests fail, saying why
    assert shutil.which("chromium") and shutil.which("chromedriver"), \
        "chromium and chromedriver are not installed (apt-get install chromium chromium-driver)"
    from selenium.webdriver.chrome.service import Service

    made = []

    def make():
        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium")
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1366,768",
                    "--disable-gpu", "--lang=en-GB"):
            options.add_argument(arg)
        driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
        driver.set_window_size(1366, 768)
        made.append(driver)
        return driver

    yield make
    for d in made:
        d.quit()
