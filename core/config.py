"""Configuration: one TOML file a hub edits, over defaults shipped with the package.

Defaults live in ``core/defaults/*.toml``, one file per area (harm, analytics rules, alerts,
chronology timescales ...), merged in name order. A hub overrides any of them in one file of
its own, named by ``--config`` or ``$INTEL_CONFIG``; its tables are merged key by key over the
defaults, so a hub writes only what it changes.
"""

from __future__ import annotations

import copy
import os
import tomllib
from pathlib import Path
from typing import Any

from core.errors import IntelError

DEFAULTS_DIR = Path(__file__).parent / "defaults"


def _merge(base: dict[str, Any], override: dict[str, Any], where: str) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merged[key] = _merge(base[key], value, f"{where}.{key}")
        else:
            merged[key] = value
    return merged


def load_config(path: str | Path | None = None) -> dict[str, Any]:
    """The effective configuration: shipped defaults, then the hub's file if any.

    Parsed once per set of files and modification times (an API request must not re-read
    TOML); each caller gets its own copy, so one caller's change never leaks into another's.
    """
    chosen = path if path is not None else os.environ.get("INTEL_CONFIG")
    files = [*sorted(DEFAULTS_DIR.glob("*.toml")), *([Path(chosen)] if chosen else [])]
    stamp = tuple((str(f), f.stat().st_mtime_ns if f.is_file() else None) for f in files)
    cached = _CACHE.get(stamp)
    if cached is None:
        cached = _CACHE[stamp] = _load(chosen)
    return copy.deepcopy(cached)


_CACHE: dict[tuple, dict[str, Any]] = {}


def _load(chosen: str | Path | None) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for default_file in sorted(DEFAULTS_DIR.glob("*.toml")):
        with default_file.open("rb") as fh:
            config = _merge(config, tomllib.load(fh), default_file.stem)
    if chosen:
        chosen = Path(chosen)
        if not chosen.is_file():
            raise IntelError(f"config file {chosen} does not exist")
        try:
            with chosen.open("rb") as fh:
                config = _merge(config, tomllib.load(fh), "config")
        except tomllib.TOMLDecodeError as exc:
            raise IntelError(f"config file {chosen} is not valid TOML: {exc}") from exc
    return config
