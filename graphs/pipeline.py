"""Every rule over a whole population, from one mentions frame (pure: frame in, frames out).

:func:`compute_all` is what ``findings.analytics.run_analytics`` runs on the store's frame, and what
the benchmark runs on the *true world* (person := true person, household := true home) to measure
precision: the same code on both.

**Severity** (no opaque score: a label people can check against the evidence), per finding:

- ``high``: the evidence holds a severe event (severity score >= ``severe_score``, by default
  DASH high, final RAG red, or a head injury / fracture / burn / overdose presentation), or the
  rule's measure is at least twice its threshold;
- ``medium``: the measure is above the threshold, or the evidence comes from two or more agencies;
- ``low``: otherwise (the rule is met, exactly at its threshold, from one agency).

**finding_key** is ``rule:person_id`` (``rule:household:<household_key>`` for a household
subject; ``networks:<smallest member id>`` for a group), stable across nights while the subject
is. **evidence_hash** is a SHA-256 (16 hex digits) of the canonical evidence JSON (sorted lists),
so it changes only when the evidence changes.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import polars as pl

from graphs import harm as harm_mod
from graphs import escalation, harm_networks, rules
from graphs.families import home_spells
from graphs.findings_frame import empty_findings
from graphs.households import daily_households, household_spells, smooth_old_addresses, spells_across_moves

RULES = ("repeat_victim", "harm_proximity", "victim_offender_overlap", "serial_perpetrator", "escalation", "networks")

DEFAULT_RULES: dict[str, dict[str, Any]] = {
    "repeat_victim": {"enabled": True, "min_events": 3, "window_days": 365},
    "notification_counts": {"window_days": 365},
    "harm_proximity": {"enabled": True, "min_households": 3, "window_days": 730, "count": "families"},
    "victim_offender_overlap": {"enabled": True, "window_days": 1095,
                                "offender_roles": ["suspect", "alleged_perpetrator"]},
    "serial_perpetrator": {"enabled": True, "min_victims": 2, "window_days": 1095,
                           "event_types": ["domestic_abuse"], "victim_roles": []},
    "escalation": {"enabled": True, "recent_days": 183, "min_recent": 4, "min_prior": 1, "ratio": 2.0,
                   "window_days": 365, "min_rise": 2, "child_age": 18,
                   "child_roles": ["child_present", "subject_child", "sibling"], "subjects": ["child", "household"]},
    "networks": {"enabled": True, "min_members": 5, "min_households": 3, "tie_via_household": False,
                 "max_members": 100, "betweenness_sample": 100, "top_bridges": 3, "require_pattern": True},
}


def rule_params(config: dict[str, Any] | None, name: str) -> dict[str, Any]:
    return {**DEFAULT_RULES.get(name, {}), **((config or {}).get("rules", {}).get(name, {}) or {})}


def _params(p: dict[str, Any], *drop: str) -> dict[str, Any]:
    return {k: v for k, v in p.items() if k not in ("enabled", *drop)}


def compute_all(mentions: pl.DataFrame, config: dict[str, Any] | None = None,
                as_of: Any = None) -> dict[str, Any]:
    """Run every enabled rule. Returns ``{"findings": frame, "notification_counts": frame,
    "spells": frame, "harmed": frame, "near": frame, "timings": {step: seconds}}``.

    ``findings`` has graphs.findings_frame.FINDING_COLUMNS plus ``finding_key, severity, evidence (JSON),
    evidence_hash``.
    """
    config = config or {}
    timings: dict[str, float] = {}
    t = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t
        now = time.perf_counter()
        timings[name] = round(now - t, 3)
        t = now

    sev_cfg = (config.get("analytics", {}) or {}).get("severity")
    vo = rule_params(config, "victim_offender_overlap")
    hh_cfg = (config.get("analytics", {}) or {}).get("households", {}) or {}
    m = harm_mod.prepare(mentions, config.get("harm", {}), sev_cfg, offender_roles=vo["offender_roles"],
                         resolve_households=hh_cfg.get("resolve_addresses", True), smooth_old=False)
    daily = daily_households(m)
    if hh_cfg.get("smooth_old_addresses", True):
        m, daily = smooth_old_addresses(m, daily=daily, return_daily=True)
    spells = household_spells(m, daily=daily, boundary=hh_cfg.get("boundary", "midpoint"))
    harmed = harm_mod.harmed_records(m, spells, event_majority=hh_cfg.get("event_majority", True))
    home = (home_spells(m, boundary=hh_cfg.get("boundary", "midpoint"))
            if hh_cfg.get("harm_home_spells", True) else None)
    gap = int(hh_cfg.get("harm_move_gap_days", 0))
    near = harm_mod.near_harm(m, harmed, spells, home, residents_by_home=hh_cfg.get("harm_residents_by_home", False),
                              moving=spells_across_moves(spells, gap, int(hh_cfg.get("harm_move_lead_days", 0)))
                              if gap > 0 else None, street_days=int(hh_cfg.get("harm_street_days", 0)))
    lap("prepare")
    out = []
    p = rule_params(config, "repeat_victim")
    if p.get("enabled", True):
        out.append(rules.repeat_victim(harmed, **_params(p)))
        lap("repeat_victim")
    p = rule_params(config, "harm_proximity")
    if p.get("enabled", True):
        out.append(rules.harm_proximity(near, harmed, spells, m=m, **_params(p)))
        lap("harm_proximity")
    if vo.get("enabled", True):
        out.append(rules.victim_offender_overlap(m, harmed, **_params(vo, "offender_roles")))
        lap("victim_offender_overlap")
    p = rule_params(config, "serial_perpetrator")
    if p.get("enabled", True):
        out.append(rules.serial_perpetrator(m, **_params(p)))
        lap("serial_perpetrator")
    p = rule_params(config, "escalation")
    if p.get("enabled", True):
        out.append(escalation.escalation(m, harmed, **_params(p)))
        lap("escalation")
    p = rule_params(config, "networks")
    if p.get("enabled", True):
        out.append(harm_networks.networks(m, harmed, near, **_params(p)))
        lap("networks")
    findings = pl.concat(out) if out else empty_findings()
    if as_of is None:
        as_of = m["date"].max() if m.height else None
    nc = rules.notification_counts(m, harmed, as_of, rule_params(config, "notification_counts")["window_days"]) \
        if as_of is not None else pl.DataFrame()
    lap("notification_counts")
    findings = finalise(findings, (sev_cfg or {}).get("severe_score", harm_mod.DEFAULT_SEVERITY["severe_score"]))
    lap("finalise")
    aliases = (m.filter(pl.col("household_key_sent").is_not_null() & ~pl.col("old_address").fill_null(False)
                        & (pl.col("household_key_sent") != pl.col("household_key")))
               .select(pl.col("household_key_sent").alias("household_key"), pl.col("household_key").alias("canonical_key"))
               .unique("household_key")) if {"household_key_sent", "old_address"} <= set(m.columns) else pl.DataFrame(
                   schema={"household_key": pl.Utf8, "canonical_key": pl.Utf8})
    return {"findings": findings, "notification_counts": nc, "household_aliases": aliases, "mentions": m, "spells": spells, "harmed": harmed,
            "near": near, "timings": timings}


def finalise(f: pl.DataFrame, severe_score: int = 3) -> pl.DataFrame:
    """Add ``finding_key``, ``severity``, ``evidence`` (canonical JSON) and ``evidence_hash``."""
    f = f.with_columns(
        finding_key=pl.when(pl.col("subject") == "group").then(pl.format("{}:{}", "rule", pl.col("persons").list.first()))
        .when(pl.col("person_id").is_not_null()).then(pl.format("{}:{}", "rule", "person_id"))
        .otherwise(pl.format("{}:household:{}", "rule", "household_key")),
        severity=pl.when((pl.col("max_severity").fill_null(0) >= severe_score) | (pl.col("measure") >= 2 * pl.col("threshold")))
        .then(pl.lit("high"))
        .when((pl.col("measure") > pl.col("threshold")) | (pl.col("sources").list.len() >= 2)).then(pl.lit("medium"))
        .otherwise(pl.lit("low")),
    )
    evid = []
    hashes = []
    for ev, mid, hh, pp, src, det in zip(f["events"].to_list(), f["mention_ids"].to_list(), f["households"].to_list(),
                                         f["persons"].to_list(), f["sources"].to_list(), f["details"].to_list()):
        doc: dict[str, Any] = {"events": ev or [], "mention_ids": mid or [], "households": hh or [],
                               "persons": pp or [], "sources": src or []}
        if det:
            doc.update(json.loads(det))
        text = json.dumps(doc, sort_keys=True, separators=(",", ":"))
        evid.append(text)
        hashes.append(hashlib.sha256(text.encode()).hexdigest()[:16])
    return f.with_columns(evidence=pl.Series(evid, dtype=pl.Utf8), evidence_hash=pl.Series(hashes, dtype=pl.Utf8))
