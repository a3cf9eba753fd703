"""The search's details (api/search_details.py) equal what the per-candidate reads give."""

from __future__ import annotations

import copy

import pytest

QUERIES = ("surname=Hughes&dob=1991-07-14", "forename=Sarah&surname=Hughes", "surname=Hughes&birth_year=1991")


def _per_row(api, role: str, person_id: str) -> dict:
    """What the workspace made of two reads a candidate (before the batched details)."""
    out = {"agencies": None, "last_seen": None, "weakest_link": None}
    chron = api.get(role, f"/persons/{person_id}/chronology?limit=1")
    if chron.status_code == 200:
        head = chron.json()["person"]
        out.update(agencies=head.get("counts_by_agency", {}), last_seen=head.get("last_seen"))
    record = api.get(role, f"/persons/{person_id}")
    if record.status_code == 200:
        probs = [m["link_probability"] for m in record.json()["mentions"] if m.get("link_probability") is not None]
        out["weakest_link"] = min(probs) if probs else None
    return out


@pytest.mark.parametrize("role", ["analyst", "marac"])
def test_batched_details_equal_the_per_candidate_reads(api, role, monkeypatch):
    if role == "marac":   # a domestic-abuse-only role without health clearance, let search here
        config = copy.deepcopy(api.app.state.config)
        config["api"]["roles"]["marac"]["rights"] = ["search", "chronology"]   # person: full sight only
        monkeypatch.setattr(api.app.state, "config", config)
    compared = 0
    for q in QUERIES:
        body = api.get(role, f"/persons?{q}&details=5").json()
        plain = api.get(role, f"/persons?{q}").json()
        assert [c["person_id"] for c in body["items"]] == [c["person_id"] for c in plain["items"]]
        for i, c in enumerate(body["items"]):
            if i >= 5:
                assert "agencies" not in c
                continue
            assert {k: c[k] for k in ("agencies", "last_seen", "weakest_link")} == _per_row(api, role, c["person_id"])
            compared += 1
    assert compared


def test_details_are_refused_out_of_range(api):
    for bad in ("-1", "101", "many"):
        r = api.get("analyst", f"/persons?surname=Hughes&dob=1991-07-14&details={bad}")
        assert r.status_code == 422 and "details" in r.text
