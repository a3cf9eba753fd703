"""The workspace in a real browser (Debian's chromium through selenium 4 and chromedriver).

One walk through every page an analyst uses, a MARAC coordinator's walk that must show no
restricted row, and the gates (no session, CSRF). ``WEB_SCREENS=docs/screens`` saves a
screenshot of each page at 1366x768 there (how README's pictures are made).
"""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path

from tests.web.conftest import PURPOSE



def _by():
    from selenium.webdriver.common.by import By
    return By


def _wait(driver, condition, timeout: float = 15):
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait
    # a page being replaced mid-check (after a click) is retried, not a failure
    return WebDriverWait(driver, timeout, ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)
                         ).until(condition)


UNLABELLED = """
return Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea, button')).filter(function (e) {
  if (e.tagName === 'BUTTON') { return !(e.textContent.trim() || e.getAttribute('aria-label')); }
  return !((e.id && document.querySelector('label[for="' + e.id + '"]')) || e.closest('label') || e.getAttribute('aria-label'));
}).map(function (e) { return e.outerHTML.slice(0, 120); });
"""


# WCAG AA: text contrast at least 4.5:1 (3:1 for large text: 24px, or 18.66px bold) against the
# first opaque background behind it
LOW_CONTRAST = """
function rgb(s) { var m = s.match(/[\\d.]+/g).map(Number); return {c: m.slice(0, 3), a: m.length > 3 ? m[3] : 1}; }
function lum(c) { c = c.map(function (v) { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
  return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]; }
function bg(e) { for (; e; e = e.parentElement) { var b = rgb(getComputedStyle(e).backgroundColor); if (b.a > 0.9) return b.c; }
  return [255, 255, 255]; }
var bad = [];
document.querySelectorAll('body *').forEach(function (e) {
  var own = Array.from(e.childNodes).some(function (n) { return n.nodeType === 3 && n.textContent.trim(); });
  var st = getComputedStyle(e);
  if (!own || st.visibility === 'hidden' || st.display === 'none' || e.closest('.sr, .skip, svg')) return;
  var l1 = lum(rgb(st.color).c), l2 = lum(bg(e)), ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
  var size = parseFloat(st.fontSize), large = size >= 24 || (size >= 18.66 && parseInt(st.fontWeight) >= 700);
  if (ratio < (large ? 3 : 4.5)) bad.push(e.tagName + ' ' + ratio.toFixed(2) + ' ' + e.textContent.trim().slice(0, 40));
});
return bad;
"""


def _shot(driver, name: str) -> None:
    assert driver.execute_script(UNLABELLED) == [], f"controls without a label on {driver.current_url}"
    assert driver.execute_script(LOW_CONTRAST) == [], f"text below WCAG AA contrast on {driver.current_url}"
    folder = os.environ.get("WEB_SCREENS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(folder) / f"{name}.png"))


def _sign_in(driver, url: str, token: str, then: str = "/w/") -> None:
    By = _by()
    driver.get(url + then)
    _wait(driver, lambda d: "/w/signin" in d.current_url)
    driver.find_element(By.ID, "token").send_keys(token)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    _wait(driver, lambda d: "/w/signin" not in d.current_url)
    if "/w/purpose" not in driver.current_url:   # a page without personal data (runs) asks no purpose
        return
    driver.find_element(By.ID, "case_ref").send_keys(PURPOSE["case_ref"])
    driver.find_element(By.ID, "reason").send_keys(PURPOSE["reason"])
    driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    _wait(driver, lambda d: "/w/purpose" not in d.current_url)


def test_analyst_walk(live_server, browser_factory):
    By = _by()
    d, url = browser_factory(), live_server.url
    person = live_server.world["person"]
    sarah, jon, john = person["police:P1"], person["police:P7"], person["social_care:S2"]

    # no session: every page goes to sign-in, and back to the page asked for after it
    d.get(url + "/w/search")
    assert "/w/signin" in d.current_url
    _shot(d, "01-sign-in")
    d.find_element(By.ID, "token").send_keys(live_server.tokens["analyst"])
    d.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    _wait(d, lambda d: "/w/purpose" in d.current_url)
    _shot(d, "02-purpose")
    d.find_element(By.ID, "case_ref").send_keys(PURPOSE["case_ref"])
    d.find_element(By.ID, "reason").send_keys(PURPOSE["reason"])
    d.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    _wait(d, lambda d: d.current_url.endswith("/w/search"))

    # search (keyboard only: type, Enter)
    from selenium.webdriver.common.keys import Keys
    d.find_element(By.ID, "forename").send_keys("Sara")
    d.find_element(By.ID, "surname").send_keys("Hughes" + Keys.ENTER)
    _wait(d, lambda d: d.find_elements(By.ID, "results"))
    assert "found" in d.find_element(By.ID, "results").text
    _shot(d, "03-search")

    # person: header, timeline, table
    d.find_element(By.LINK_TEXT, sarah).click()
    _wait(d, lambda d: d.find_elements(By.ID, "chronology"))
    assert "Sarah Hughes" in d.find_element(By.TAG_NAME, "h1").text
    rows = d.find_elements(By.CSS_SELECTOR, "#chronology tbody tr")
    assert len(rows) >= 4
    assert d.find_elements(By.CSS_SELECTOR, ".timeline .dot.harm")
    _shot(d, "04-person")

    # household from an address on the person page
    d.find_element(By.CSS_SELECTOR, ".header-grid a[href*='/w/household/']").click()
    _wait(d, lambda d: "/w/household/" in d.current_url and d.find_elements(By.ID, "chronology"))
    _shot(d, "05-household")
    d.back()

    # network: click a person node, that person opens
    d.find_element(By.LINK_TEXT, "Network").click()
    _wait(d, lambda d: d.find_element(By.ID, "cy").get_attribute("data-ready") == "1")
    _shot(d, "06-network")
    target = d.execute_script(
        "var n = window.workspaceNetwork.nodes('[type = \"person\"][!centre]')[0];"
        "var p = n.renderedPosition(); return [n.data('person_id'), p.x, p.y];")
    from selenium.webdriver.common.action_chains import ActionChains
    cy = d.find_element(By.ID, "cy")
    size = cy.size
    ActionChains(d).move_to_element_with_offset(cy, int(target[1] - size["width"] / 2),
                                                int(target[2] - size["height"] / 2)).click().perform()
    _wait(d, lambda d: d.current_url.endswith(f"/w/person/{target[0]}"))

    # alerts: acknowledge one with a reason
    d.find_element(By.LINK_TEXT, "Alerts").click()
    _wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, "article.alert"))
    _shot(d, "07-alerts")
    first = d.find_element(By.CSS_SELECTOR, "article.alert")
    alert_id = first.get_attribute("id").removeprefix("alert-")
    first.find_element(By.NAME, "reason").send_keys("taken to the strategy meeting")
    first.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    _wait(d, lambda d: f"{alert_id} acknowledged" in d.find_element(By.CSS_SELECTOR, ".notice").text)

    # review: the queue's doubtful link, both people side by side, decide
    d.find_element(By.LINK_TEXT, "Review").click()
    # Jon/John Smith's link completes no finding and neither was harmed: the queue lists it only
    # when the analyst asks for every doubtful link
    _wait(d, lambda d: d.find_elements(By.LINK_TEXT, "list them too"))
    assert "1 more doubtful link with nothing at stake" in d.page_source
    d.find_element(By.LINK_TEXT, "list them too").click()
    _wait(d, lambda d: d.find_elements(By.ID, "review-queue"))
    assert "Jon Smith" in d.find_element(By.ID, "review-queue").text
    d.find_element(By.CSS_SELECTOR, "#review-queue a").click()
    _wait(d, lambda d: d.find_elements(By.ID, "decide-form"))
    both = d.find_element(By.CSS_SELECTOR, ".side-by-side").text
    assert jon in both and john in both and "Jon Smith" in both and "John Smith" in both
    d.find_element(By.CSS_SELECTOR, "input[name=decision][value=same]").click()
    d.find_element(By.ID, "decision-reason").send_keys("same birth date and name; the address moved")
    _shot(d, "08-review")
    d.find_element(By.CSS_SELECTOR, "#decide-form button[type=submit]").click()
    _wait(d, lambda d: "Recorded" in d.find_element(By.CSS_SELECTOR, ".notice").text)
    assert "Nothing to review" in d.page_source          # the queue's one item is settled

    # print view and MARAC pack
    d.get(url + f"/w/person/{sarah}/print")
    assert "OFFICIAL-SENSITIVE" in d.page_source
    _shot(d, "09-print")
    d.get(url + f"/w/person/{sarah}/pack")
    assert "MARAC pack" in d.find_element(By.TAG_NAME, "h1").text
    assert PURPOSE["case_ref"] in d.page_source and "analyst1" in d.page_source
    # the network picture (its own request): fitted to the page's width, zoomed in and out with its
    # buttons, full size
    _wait(d, lambda d: d.find_element(By.ID, "netpic").get_attribute("data-ready") == "1")
    _shot(d, "10-marac-pack")
    width = lambda: d.execute_script("return document.querySelector('#netpic svg').getBoundingClientRect().width")  # noqa: E731
    fitted = width()
    d.find_element(By.CSS_SELECTOR, "button[data-zoom=in]").click()
    assert width() > fitted * 1.3 and "of full size" in d.find_element(By.CSS_SELECTOR, "[data-zoom-said]").text
    d.find_element(By.CSS_SELECTOR, "button[data-zoom=fit]").click()
    assert abs(width() - fitted) < 2 and d.find_element(By.CSS_SELECTOR, "[data-zoom-said]").text == "fitted to the page"
    # printed: the picture is on the paper (fetched after the page, web/routes/pack.py), alone on
    # an A4 landscape page, the rest of the pack portrait (named pages)
    assert "Sarah" in d.find_element(By.CSS_SELECTOR, "#netpic svg").get_attribute("textContent")
    d.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    printed = d.execute_script("var s = document.querySelector('#netpic svg'), r = s.getBoundingClientRect(); "
                               "return [getComputedStyle(s).display, getComputedStyle(s).visibility, r.width, r.height];")
    d.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    assert printed[:2] == ["block", "visible"] and printed[2] > 300 and printed[3] > 100, printed
    pdf = base64.b64decode(d.execute_cdp_cmd("Page.printToPDF", {"preferCSSPageSize": True})["data"])
    boxes = [tuple(round(float(v)) for v in b.split()[2:]) for b in re.findall(rb"/MediaBox\s*\[([^\]]*)\]", pdf)]
    assert (842, 595) in boxes and (595, 842) in boxes, boxes
    # printed with Ctrl+P before the picture arrived (put back in that state: picture.js marks the
    # box data-loading while it fetches): the paper says it had not arrived, not "Drawing..."
    assert d.find_element(By.ID, "netpic").get_attribute("data-loading") is None
    d.execute_script("var b = document.getElementById('netpic'); b.removeAttribute('data-ready'); "
                     "b.setAttribute('data-loading', '1'); "
                     "b.innerHTML = '<p class=\"muted picture-wait\" data-picture-said>Drawing the network picture\u2026</p>';")
    d.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    said = d.execute_script("var p = document.querySelector('#netpic .picture-wait'); "
                            "return [getComputedStyle(p).fontSize, getComputedStyle(p, '::before').content];")
    d.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    assert said[0] == "0px" and "had not arrived when this page was printed" in said[1], said

    # sign out: the pages are closed again
    d.get(url + "/w/search")
    d.find_element(By.CSS_SELECTOR, "header form button").click()
    _wait(d, lambda d: "/w/signin" in d.current_url)
    d.get(url + f"/w/person/{sarah}")
    assert "/w/signin" in d.current_url


def test_admin_runs_page(live_server, browser_factory):
    By = _by()
    d = browser_factory()
    d.delete_all_cookies()
    _sign_in(d, live_server.url, live_server.tokens["admin"], then="/w/runs")
    _wait(d, lambda d: d.current_url.endswith("/w/runs"))
    assert "completed" in d.find_element(By.TAG_NAME, "table").text
    _shot(d, "11-runs")


def test_manager_metrics_page(live_server, browser_factory):
    By = _by()
    d = browser_factory()
    _sign_in(d, live_server.url, live_server.tokens["manager"], then="/w/metrics")
    _wait(d, lambda d: d.current_url.endswith("/w/metrics"))
    frame = d.find_element(By.CSS_SELECTOR, "iframe.report-frame")
    d.switch_to.frame(frame)
    _wait(d, lambda d: d.find_elements(By.TAG_NAME, "h1"))       # the API's report, in the frame
    d.switch_to.default_content()
    assert [a.text for a in d.find_elements(By.CSS_SELECTOR, "header nav a")] == ["Metrics"]
    _shot(d, "12-metrics")


def test_marac_sees_no_restricted_row_on_any_page(live_server, browser_factory):
    d = browser_factory()
    world = live_server.world
    sarah = world["person"]["police:P1"]
    _sign_in(d, live_server.url, live_server.tokens["marac"])
    hidden = [r for r in world["restricted"]]
    pages = [f"/w/person/{sarah}", f"/w/person/{sarah}/network", f"/w/person/{sarah}/print",
             f"/w/person/{sarah}/pack", f"/w/person/{sarah}/network?hops=2"]
    for page in pages:
        d.get(live_server.url + page)
        text = d.page_source
        assert "/w/signin" not in d.current_url, page
        for r in hidden:
            if r["restriction"] == "hub_only":
                assert r["mention_id"] not in text and r["event_key"] not in text, (page, r)
        assert "hub only" not in text.lower() and "emergency department" not in text.lower(), page
    d.get(live_server.url + "/w/search")
    assert "Not available to your role" in d.page_source
