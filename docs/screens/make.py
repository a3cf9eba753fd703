"""Screenshots of every workspace page at 1366x768 on a real store (README's pictures).

    python3 docs/screens/make.py --db demo/intel.duckdb [--out docs/screens]

Copies the store, adds an analyst and an admin, serves the workspace on the copy (web.served_app
under uvicorn, in this process) and walks it in Debian's chromium (selenium): sign-in, purpose,
search, the person the most alerts name, their household, their network, the alert queue (and
an alert's evidence), the review queue and one of its links, print view, MARAC pack, runs.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import uvicorn  # noqa: E402
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from access.users import add_user  # noqa: E402
from core.config import load_config  # noqa: E402
from core.store import Store  # noqa: E402
from web import served_app  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=Path("docs/screens"))
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="screens-"))
    db = work / "screens.duckdb"
    shutil.copy(a.db, db)
    with Store(db) as store:
        tokens = {role: add_user(store, f"{role}.screens", role, config=load_config())["token"] for role in ("analyst", "admin")}
        person = store.scalar("SELECT person_id FROM alerts WHERE person_id IS NOT NULL GROUP BY person_id ORDER BY count(*) DESC, person_id LIMIT 1")
        name = store.rows("SELECT m.forename_raw AS f, m.surname_raw AS s, m.dob FROM person_mentions pm JOIN mentions m "
                          "USING (mention_id) WHERE pm.person_id = ? AND m.dob IS NOT NULL LIMIT 1", [person])[0]
        other = store.scalar("SELECT pm2.person_id FROM person_mentions pm JOIN mentions m USING (mention_id) "
                             "JOIN mentions m2 ON m2.surname = m.surname AND m2.mention_id <> m.mention_id "
                             "JOIN person_mentions pm2 ON pm2.mention_id = m2.mention_id "
                             "WHERE pm.person_id = ? AND pm2.person_id <> ? LIMIT 1", [person, person])
    app = served_app(db)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1366,768", "--lang=en-GB"):
        options.add_argument(arg)
    d = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    d.set_window_size(1366, 768)
    a.out.mkdir(parents=True, exist_ok=True)

    def shot(name: str) -> None:
        time.sleep(0.3)
        d.save_screenshot(str(a.out / f"{name}.png"))

    try:
        d.get(url + "/w/search")
        shot("01-sign-in")
        d.find_element(By.ID, "token").send_keys(tokens["analyst"])
        d.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        d.find_element(By.ID, "case_ref").send_keys("MASH-2026-0142")
        d.find_element(By.ID, "reason").send_keys("strategy discussion after a police referral")
        shot("02-purpose")
        d.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
        d.find_element(By.ID, "forename").send_keys(name["f"])
        d.find_element(By.ID, "surname").send_keys(name["s"])
        d.find_element(By.ID, "dob").send_keys(str(name["dob"]))
        d.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
        shot("03-search")
        d.get(url + f"/w/person/{person}")
        shot("04-person")
        d.find_element(By.CSS_SELECTOR, ".header-grid a[href*='/w/household/']").click()
        shot("05-household")
        d.get(url + f"/w/person/{person}/network?hops=2")
        WebDriverWait(d, 20).until(lambda d: d.find_element(By.ID, "cy").get_attribute("data-ready") == "1")
        shot("06-network")
        d.get(url + "/w/alerts")
        shot("07-alerts")
        opened = d.find_elements(By.CSS_SELECTOR, "details.evidence-events[open]")
        if opened:   # an alert whose evidence table is open: its card from the top
            d.execute_script("arguments[0].closest('article').scrollIntoView()", opened[0])
            shot("07-alert-evidence")
        d.get(url + "/w/metrics")
        shot("12-metrics")
        d.get(url + "/w/review")
        shot("08-review-queue")
        items = d.find_elements(By.CSS_SELECTOR, "#review-queue a")
        if items:   # the first doubtful link of the queue
            items[0].click()
        else:       # no queue on this store: two people who share a surname
            d.get(url + f"/w/review?pa={person}&pb={other}")
        d.execute_script("window.scrollTo(0, 330)")
        shot("08-review")
        d.get(url + f"/w/person/{person}/print")
        shot("09-print")
        d.get(url + f"/w/person/{person}/pack")
        shot("10-marac-pack")
        # its network picture, zoomed in once with its buttons (fitted to the width it is an overview)
        d.execute_script("document.querySelector('section.netpage').scrollIntoView()")
        d.find_element(By.CSS_SELECTOR, "button[data-zoom=in]").click()
        d.execute_script("document.querySelector('section.netpage').scrollIntoView()")
        shot("10-marac-pack-network")
        d.find_element(By.LINK_TEXT, "Back to the person").click()
        d.find_element(By.CSS_SELECTOR, "header form button").click()
        d.get(url + "/w/runs")
        d.find_element(By.ID, "token").send_keys(tokens["admin"])
        d.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        shot("11-runs")
    finally:
        d.quit()
        server.should_exit = True
        time.sleep(1)
        app.state.audit_queue.close()
        app.state.store.close()
        shutil.rmtree(work, ignore_errors=True)
    print(f"screens of {person} in {a.out}")


if __name__ == "__main__":
    main()
