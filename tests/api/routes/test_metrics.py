"""GET /metrics: who may, what comes back (aggregates only), bad input as a 400, the audit."""

from __future__ import annotations

import csv
import io
import re

import pytest

from tests.api.conftest import PURPOSE


def test_a_manager_gets_aggregates_with_no_purpose_asked_and_is_audited(api):
    r = api.get("manager", "/metrics?from=2025-01-01&to=2025-12-31&by=quarter", purpose=False)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [p["label"] for p in body["report"]["periods"]] == ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4"]
    assert body["report"]["health_detail"] is False        # the manager role has no health clearance
    text = r.text
    for word in ("Hughes", "Sarah", "Brown", "NB1 4QL", "police:P1"):
        assert word not in text
    assert not re.search(r"MI-\d{8}[A-Z]", text)            # no person ids
    entry = api.audit()[-1]
    assert (entry["user_name"], entry["endpoint"], entry["status"], entry["subject_kind"]) == (
        "manager1", "/metrics", 200, "metrics")


def test_small_counts_are_suppressed_over_the_api(api):
    body = api.get("analyst", "/metrics?from=2025-01-01&to=2025-12-31").json()
    demand = next(m for m in body["metrics"] if m["id"] == "demand_by_agency")
    values = [r["events"] for r in demand["rows"] if r["events"] is not None]
    assert all(v == 0 or v >= 5 for v in values)
    assert any(r["suppressed"] for r in demand["rows"])      # this world is small: something is hidden


def test_csv_and_html(api):
    r = api.get("manager", "/metrics?from=2025-01-01&to=2025-06-30&format=csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert rows and {r["metric"] for r in rows} >= {"demand_by_agency", "timeliness", "re_referrals"}
    r = api.get("manager", "/metrics?from=2025-01-01&to=2025-06-30&format=html")
    assert r.status_code == 200 and r.text.startswith("<!DOCTYPE html>") and "<script" not in r.text


@pytest.mark.parametrize("query, message", [
    ("from=2025-06-01&to=2025-01-01", "--from 2025-06-01 is after --to 2025-01-01"),
    ("by=week", "--by 'week' is not a period; use one of: month, quarter"),
    ("format=pdf", "format 'pdf' is not a report format; use one of: json, csv, html"),
    ("from=01/02/2025", "--from '01/02/2025' is not a date (YYYY-MM-DD)"),
])
def test_bad_input_is_a_400_that_says_what_is_wrong(api, query, message):
    r = api.get("manager", f"/metrics?{query}", purpose=False)
    assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json"
    assert message in r.json()["detail"]


def test_an_empty_period_is_a_report(api):
    body = api.get("manager", "/metrics?from=2031-01-01&to=2031-03-31").json()
    assert body["report"]["empty"] is True and "no events" in body["report"]["note"]


def test_roles_without_the_right_are_refused(api):
    for role in ("marac", "admin"):
        r = api.client.get("/metrics", headers={**api.auth(role), **PURPOSE})
        assert r.status_code == 403 and r.json()["type"] == "/problems/forbidden-role"
