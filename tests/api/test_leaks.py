"""Nothing leaks: every route that answers a GET in the application `intel serve` runs - the API
and the web workspace's pages, found by walking the app's routes, so new ones are covered
without editing this test - is called as every role (pages signed in through their forms),
in every format it offers, on a store where a good share of the records are hub_only or
health_confidential; no answer may name a record, an all-hidden event or a planted detail that
the role may not see in that format. And a MARAC coordinator gets the same answer for a person
whose only domestic-abuse record is hidden as for a person with none."""

from __future__ import annotations

import csv
import hashlib
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from access.lens import Lens
from fixtures.world import generate_world
from core.config import load_config
from core.store import Store
from access.users import add_user
from tests.api.conftest import ENGINE, PURPOSE, ROLES
from web import served_app
from web.pages import PREFIX as WEB

SECRET = "Zebhidden"     # planted in the middle names of every restricted record, with its number


def _share(record_id: str, n: int) -> bool:
    return int(hashlib.sha256(record_id.encode()).hexdigest(), 16) % n == 0


def _restrict(drop: Path) -> None:
    """About a third of police and social-care records hub_only, half of health records
    health_confidential, each with a distinctive middle name and a distinctive word in its address."""
    for path in sorted(drop.glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        source = path.name.split(".")[0].rstrip("_0123456789")
        for i, r in enumerate(rows):
            if source == "health" and (r["restriction"] == "health_confidential" or _share(r["record_id"], 2)):
                r["restriction"] = "health_confidential"
            elif source != "health" and (r["restriction"] == "hub_only" or _share(r["record_id"], 3)):
                r["restriction"] = "hub_only"
            if r["restriction"] != "none" and r["restriction"]:
                r["middle_names"] = f"{SECRET}{source[:2]}{i}"
                if r.get("address"):    # and in its address as recorded: words said from records (names,
                    # addresses) must come from records the viewer sees, as ids must
                    r["address"] = f"{r['address']} {SECRET}ad{source[:2]}{i}"
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    (drop / "manifest.json").unlink(missing_ok=True)     # its checksums were of the files as generated


@pytest.fixture(scope="module")
def leaky(tmp_path_factory) -> dict[str, Any]:
    from findings.runs import run_nightly

    base = tmp_path_factory.mktemp("leaks")
    generate_world(base / "w", households=40, seed=5)
    _restrict(base / "w" / "drop")
    db = base / "leaks.duckdb"
    with Store(db) as store:
        run_nightly(store, base / "w" / "drop", config=load_config(), link_engine=ENGINE)
        tokens = {role: add_user(store, f"{role}1", role, config=load_config())["token"] for role in ROLES}
        mentions = store.rows("SELECT m.mention_id, m.event_key, m.restriction, m.role, m.household_key, "
                              "m.middle_names_raw, m.address_raw, pm.person_id FROM mentions m "
                              "LEFT JOIN person_mentions pm USING (mention_id)")
        alerts = [r["alert_id"] for r in store.rows("SELECT alert_id FROM alerts ORDER BY alert_id")]
    return {"db": db, "tokens": tokens, "mentions": mentions, "alerts": alerts}


def _forbidden(mentions: list[dict[str, Any]], lens: Lens) -> set[str]:
    """What a viewer with this lens may not be shown: every record id (and its middle name) the
    lens hides or masks, and the key of every event all of whose records it hides."""
    out = set()
    by_event: dict[str, list[str]] = {}
    for m in mentions:
        by_event.setdefault(m["event_key"], []).append(m["restriction"])
        if m["restriction"] in lens.withheld:
            out |= {m["mention_id"], m["middle_names_raw"], *re.findall(SECRET + r"ad\w+", m["address_raw"] or "")}
    out |= {k for k, rs in by_event.items() if lens.drop_hub_only and all(r == "hub_only" for r in rs)}
    return {t for t in out if t}


def _sample(leaky: dict[str, Any]) -> dict[str, list[str]]:
    restricted = [m for m in leaky["mentions"] if m["restriction"] != "none"]
    persons = sorted({m["person_id"] for m in restricted if m["person_id"]})[:14]
    households = sorted({m["household_key"] for m in restricted if m["household_key"]})[:6]
    return {"person_id": persons, "household_key": households, "alert_id": leaky["alerts"][:6],
            "name": ["analyst1"], "run_id": [], "a": [restricted[0]["mention_id"]]}


def _walk(routes, prefix: str = ""):
    """Every route, looking inside included routers (FastAPI 0.165 wraps each in an _IncludedRouter)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            context = getattr(route, "include_context", None)
            yield from _walk(inner.routes, prefix + (getattr(context, "prefix", "") or ""))
        elif hasattr(route, "routes") and not hasattr(route, "methods"):
            yield from _walk(route.routes, prefix + getattr(route, "path", ""))
        else:
            if prefix:
                route = type("Prefixed", (), {"path": prefix + route.path, "methods": getattr(route, "methods", ()),
                                               "param_convertors": getattr(route, "param_convertors", {})})()
            yield route


def _routes(app) -> list[tuple[str, list[str], dict[str, list[str]]]]:
    """(path, its path parameters, query parameters with their offered values) of every GET route."""
    schema = app.openapi()["paths"]
    out = []
    for route in _walk(app.routes):
        if "GET" not in getattr(route, "methods", ()) or route.path in ("/docs", "/redoc", "/openapi.json",
                                                                          "/docs/oauth2-redirect", "/health"):
            continue
        params = list(getattr(route, "param_convertors", {}))
        offered: dict[str, list[str]] = {}
        for p in (schema.get(route.path.replace(":path", ""), {}).get("get", {}).get("parameters", [])):
            enum = p.get("schema", {}).get("enum") or next(
                (s.get("enum") for s in p.get("schema", {}).get("anyOf", []) if s.get("enum")), None)
            if p["in"] == "query" and enum:
                offered[p["name"]] = enum
        out.append((route.path, params, offered))
    return out


# workspace pages that are exports (a file, a printout, a pack): hub_only never in them
_WEB_EXPORTS = ("print", "pack", ".csv", ".{fmt}", "report")
_FMTS = ["json", "csv", "html", "svg", "graphml"]
_CSRF = re.compile(r'name="csrf" value="([^"]*)"')


def _signed_in(client: TestClient, token: str) -> None:
    """Sign in to the workspace through its forms, as a browser would, and state a purpose."""
    page = client.get(f"{WEB}/signin")
    r = client.post(f"{WEB}/signin", data={"csrf": _CSRF.search(page.text).group(1), "token": token,
                                            "next": f"{WEB}/"}, follow_redirects=True)
    client.post(f"{WEB}/purpose", data={"csrf": _CSRF.search(r.text).group(1), "next": f"{WEB}/",
                                         "case_ref": "MASH-2026-0142", "reason": "leak test of every page"},
                follow_redirects=True)


def test_no_route_shows_a_role_what_it_may_not_see(leaky):
    """Every GET route of the application ``intel serve`` runs (the API and the workspace's pages)."""
    cfg = load_config()
    share = [m["restriction"] for m in leaky["mentions"]]
    assert share.count("hub_only") > len(share) / 6 and share.count("health_confidential") > len(share) / 20
    app = served_app(leaky["db"], config=cfg, run_options={"link_engine": ENGINE})
    app.state.alert_queue.build_later()   # as intel serve does: GET /alerts and its page from the kept queue
    app.state.alert_queue.wait(60)
    assert app.state.alert_queue.status()["state"] == "current"
    sample = _sample(leaky)
    sample["run_id"] = [app.state.store.scalar("SELECT run_id FROM runs LIMIT 1")]
    sample["fmt"] = _FMTS
    a, b = leaky["mentions"][0]["mention_id"], leaky["mentions"][1]["mention_id"]
    leaks, calls, answered, pages = [], 0, 0, 0
    routes = _routes(app)
    paths = {p.replace(":path", "") for p, _, _ in routes}
    assert {"/persons/{person_id}/chronology", "/households/{household_key}/chronology",
            "/persons/{person_id}/network", "/alerts"} <= paths
    assert any(p.startswith(WEB + "/person/") for p in paths), "the workspace's pages are walked too"
    try:
        for role in ROLES:
            spec = cfg["api"]["roles"][role]
            headers = {"Authorization": f"Bearer {leaky['tokens'][role]}", **PURPOSE}
            with TestClient(app, follow_redirects=True) as client:
                _signed_in(client, leaky["tokens"][role])
                for path, params, offered in routes:
                    if path.startswith((f"{WEB}/signin", f"{WEB}/purpose", f"{WEB}/static")):
                        continue
                    web = path.startswith(WEB)
                    fills = [{}]
                    for p in params:
                        values = sample.get(p, ["x"])[: 8 if web else None]
                        fills = [{**f, p: v} for f in fills for v in values]
                    for fill in fills:
                        url = path
                        for k, v in fill.items():
                            url = url.replace("{" + k + "}", v).replace("{" + k + ":path}", v)
                        for fmt in offered.get("format", ["json"]):
                            query = {"format": fmt} if "format" in offered else {}
                            if path == "/links/explain":
                                query.update(a=a, b=b)
                            if path in ("/persons", f"{WEB}/search"):
                                query.update(surname="a")
                            if path == "/persons":   # candidates with their details (the search page's one read)
                                query.update(details="20")
                            r = client.get(url, params=query, headers={} if web else headers)
                            calls += 1
                            answered += r.status_code == 200
                            pages += web and r.status_code == 200
                            export = (any(e in path for e in _WEB_EXPORTS) if web else fmt != "json")
                            lens = Lens.of(health_clearance=spec["health_clearance"],
                                           export=export or spec["domestic_abuse_only"])
                            text = r.text
                            found = {t for t in _forbidden(leaky["mentions"], lens)
                                     if re.search(re.escape(t) + r"(?![0-9])", text)}
                            if found:
                                leaks.append((role, url, fmt, r.status_code, sorted(found)[:5]))
    finally:
        app.state.runs.wait(60)
        app.state.snapshot.wait(60)
        app.state.review_queue.wait(60)
        app.state.alert_queue.stop()
        app.state.audit_queue.close()
        app.state.store.close()
    assert answered > 100 and pages > 20, (calls, answered, pages)
    assert not leaks, f"{len(leaks)} of {calls} answers name what their role may not see, e.g. {leaks[:8]}"


def test_a_marac_coordinator_cannot_tell_a_hidden_domestic_abuse_record_from_none(leaky, tmp_path):
    """A person whose only domestic-abuse record is hub_only answers exactly as a person with no
    domestic-abuse record at all (and as one who does not exist)."""
    import shutil

    from api.app import create_app

    db = tmp_path / "copy.duckdb"
    for suffix in ("", ".audit-key", ".audit-anchor"):      # a store moves with its audit key and anchor
        if Path(str(leaky["db"]) + suffix).exists():
            shutil.copy(str(leaky["db"]) + suffix, str(db) + suffix)
    with Store(db) as store:
        da = store.rows("SELECT pm.person_id, list(m.restriction) AS rs FROM person_mentions pm JOIN mentions m "
                        "USING (mention_id) WHERE m.event_type = 'domestic_abuse' GROUP BY ALL")
        hidden_only = [r["person_id"] for r in da if set(r["rs"]) == {"hub_only"}]
        visible = [r["person_id"] for r in da if "none" in r["rs"]]
        none = store.scalar("SELECT person_id FROM persons WHERE status = 'active' AND person_id NOT IN "
                            "(SELECT pm.person_id FROM person_mentions pm JOIN mentions m USING (mention_id) "
                            "WHERE m.event_type = 'domestic_abuse') LIMIT 1")
        households = store.rows("SELECT household_key, list(restriction) AS rs FROM mentions WHERE household_key "
                                "IS NOT NULL AND event_type = 'domestic_abuse' GROUP BY ALL")
        hidden_households = [r["household_key"] for r in households if set(r["rs"]) == {"hub_only"}]
    assert hidden_only and visible and none, "the world needs each kind of person"
    app = create_app(db, config=load_config(), run_options={"link_engine": ENGINE})
    try:
        with TestClient(app) as client:
            h = {"Authorization": f"Bearer {leaky['tokens']['marac']}", **PURPOSE}

            def answer(url: str) -> tuple[int, str]:
                r = client.get(url, headers=h)
                body = r.json() if r.headers.get("content-type", "").startswith("application/") else r.text
                if isinstance(body, dict):
                    body.pop("instance", None)      # the path asked for, echoed
                return r.status_code, str(body)

            assert answer(f"/persons/{visible[0]}/chronology")[0] == 200
            refused = {answer(f"/persons/{p}/chronology") for p in (*hidden_only[:5], none, "MI-99999999B")}
            assert len(refused) == 1 and next(iter(refused))[0] == 403
            nets = {answer(f"/persons/{p}/network") for p in (*hidden_only[:5], none)}
            assert len(nets) == 1 and next(iter(nets))[0] == 403
            for hk in hidden_households[:3]:
                assert answer(f"/households/{hk}/chronology") == answer("/households/uprn:0/chronology")
    finally:
        app.state.audit_queue.close()
        app.state.store.close()
