"""The alert rules a hub has on, their thresholds, and the names every filter is checked against."""

from __future__ import annotations

from typing import Any

from core.errors import IntelError

ANALYTICS_RULES = ("repeat_victim", "harm_proximity", "victim_offender_overlap", "serial_perpetrator",
                   "escalation", "networks")
OWN_RULES = ("marac_criteria", "new_risk_link")
# 'baseline': raised by the first load (the store's history, not news of tonight); 'new': raised or
# given new evidence since anyone acted on it; 'open' (a filter only) = baseline, new or acknowledged
STATUSES = ("new", "baseline", "acknowledged", "closed")
STATUS_FILTERS = (*STATUSES, "open", "all")
SEVERITIES = ("low", "medium", "high")
# what a MARAC coordinator's queue holds (their people: those with a domestic-abuse record)
MARAC_RULES = ("marac_criteria", "escalation")


def alert_config(config: dict[str, Any]) -> dict[str, Any]:
    """``[alerts]`` of the configuration, checked: ``severity_order`` and ``rules``."""
    cfg = config.get("alerts", {})
    order = cfg.get("severity_order", list(SEVERITIES))
    rules = cfg.get("rules", {})
    for name, rule in rules.items():
        if not isinstance(rule, dict):
            raise IntelError(f"config [alerts.rules.{name}] must be a table")
        ms = rule.get("min_severity", order[0])
        if ms not in order:
            raise IntelError(f"config [alerts.rules.{name}] min_severity {ms!r} is not one of {order}")
    return {"severity_order": order, "rules": rules}


def enabled(acfg: dict[str, Any], rule: str) -> bool:
    return bool(acfg["rules"].get(rule, {}).get("enabled", False))


def severe_enough(acfg: dict[str, Any], rule: str, severity: str) -> bool:
    order = acfg["severity_order"]
    minimum = acfg["rules"].get(rule, {}).get("min_severity", order[0])
    return severity in order and order.index(severity) >= order.index(minimum)


def rule_names(config: dict[str, Any] | None) -> list[str]:
    """Every rule an alert can carry: the built-in ones and any the hub's config names."""
    extra = sorted(((config or {}).get("alerts", {}) or {}).get("rules", {}) or {})
    return [*ANALYTICS_RULES, *OWN_RULES, *(r for r in extra if r not in ANALYTICS_RULES and r not in OWN_RULES)]
