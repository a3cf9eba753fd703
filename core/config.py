"""Configuration: one TOML file a hub edits, over defaults shipped with the package.

Defaults live in ``core/defaults/*.toml``, one file per area (harm, analytics rules, alerts,
chronology timescales ...), merged in name order. A hub overrides any of them in one file of
its own, named by ``--config`` or ``$INTEL_CONFIG``; its tables are merged key by key over the
defaults, so a hub writes only what it changes.

The configuration is loaded once, at the edge (the CLI command, ``create_app``), and passed
down as a :class:`Config`: read-only all the way down, so no module can change what another
reads, and no module below the top floor calls :func:`load_config` (tests/test_architecture.py
holds that). ``copy.deepcopy(config)`` gives a plain, mutable copy for a test that needs a variant.
"""

from __future__ import annotations

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


class FrozenList(list):
    """A list that refuses changes (it still equals a plain list with the same items)."""

    def _refuse(self, *_args: Any, **_kwargs: Any) -> None:
        raise TypeError("the configuration is read-only: copy.deepcopy() it to make a variant")

    append = extend = insert = remove = pop = clear = sort = reverse = _refuse
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse

    def __deepcopy__(self, memo: dict) -> list:
        return [thaw(v) for v in self]


class Config(dict):
    """The effective configuration, read-only (it still equals a plain dict with the same items)."""

    def _refuse(self, *_args: Any, **_kwargs: Any) -> None:
        raise TypeError("the configuration is read-only: copy.deepcopy() it to make a variant")

    __setitem__ = __delitem__ = __ior__ = setdefault = update = pop = popitem = clear = _refuse

    def __deepcopy__(self, memo: dict) -> dict:
        return {k: thaw(v) for k, v in self.items()}

    def section(self, name: str) -> "Config":
        """One table of the configuration (empty if the defaults and the hub have none)."""
        value = self.get(name)
        return value if isinstance(value, Config) else Config()


def freeze(value: Any) -> Any:
    """A read-only copy of a parsed TOML value."""
    if isinstance(value, dict):
        frozen = Config()
        for k, v in value.items():
            dict.__setitem__(frozen, k, freeze(v))
        return frozen
    if isinstance(value, list):
        return FrozenList(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """A plain, mutable copy of a (frozen) configuration value."""
    if isinstance(value, dict):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, list):
        return [thaw(v) for v in value]
    return value


def load_config(path: str | Path | None = None) -> Config:
    """The effective configuration: shipped defaults, then the hub's file if any.

    Parsed once per set of files and modification times (an API request must not re-read
    TOML); it is read-only, so every caller can share the one parsed object.
    """
    chosen = path if path is not None else os.environ.get("INTEL_CONFIG")
    files = [*sorted(DEFAULTS_DIR.glob("*.toml")), *([Path(chosen)] if chosen else [])]
    stamp = tuple((str(f), f.stat().st_mtime_ns if f.is_file() else None) for f in files)
    cached = _CACHE.get(stamp)
    if cached is None:
        cached = _CACHE[stamp] = freeze(_load(chosen))
    return cached


_CACHE: dict[tuple, Config] = {}


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
