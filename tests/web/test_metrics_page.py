"""The workspace's Metrics page over GET /metrics: the manager's page, the report in its frame,
CSV, a bad period as a message on the form, and roles without the right."""

from __future__ import annotations


def test_a_manager_reads_the_metrics_and_downloads_them(web):
    web.sign_in("manager", purpose=False)
    r = web.client.get("/w/metrics")
    assert r.status_code == 200 and "Hub metrics" in r.text and "report-frame" in r.text
    r = web.client.get("/w/metrics/report.html?from=2025-01-01&to=2025-12-31&by=quarter")
    assert r.status_code == 200 and r.text.startswith("<!DOCTYPE html>")
    assert "2025-Q1" in r.text and "<script" not in r.text and "Hughes" not in r.text
    r = web.client.get("/w/metrics/report.csv?from=2025-01-01&to=2025-12-31")
    assert r.status_code == 200 and r.headers["content-disposition"].startswith("attachment")
    assert r.text.lstrip("\ufeff").startswith("metric,section,title,period")
    entries = [e for e in web.audit() if e["endpoint"] == "/metrics"]
    assert entries and all(e["user_name"] == "manager1" and e["status"] == 200 for e in entries)


def test_a_bad_period_is_a_message_on_the_form(web):
    web.sign_in("analyst")
    r = web.client.get("/w/metrics?from=2025-06-01&to=2025-01-01")
    assert r.status_code == 400 and "before the start date" in r.text
    r = web.client.get("/w/metrics?by=week")
    assert r.status_code == 400 and "month or quarter" in r.text


def test_roles_without_the_right_do_not_get_the_page(web):
    web.sign_in("marac")
    r = web.client.get("/w/metrics")
    assert r.status_code == 403 and "Hub metrics" not in r.text
