"""How a nightly run is shown to a person (GET /runs, the workspace's runs pages, ``intel runs``):
its drop and files by paths relative to the drops folder or the store's folder, never a
server's absolute path.

The ``runs`` table keeps what the run was given (the drop's resolved path, errors and tracebacks
as raised), for the host's operator. What is shown is derived from it here, for every reader
alike: a path inside the drops folder (``[api] drops_folder``, default ``drops/`` beside the
store) is shown relative to it, as ``POST /runs`` takes it (``2026-10-31``,
``2026-10-31/police.csv``); a path inside the store's folder relative to that
(``reports/2026-10-31-<drop id>/quarantine.csv``); any other absolute path by its last part only
(``…/police.csv``). This covers every text of the run - the error, the report's fields, a
traceback's file names - so an admin can find the drop and its quarantine report and learns
nothing else of the server's file system.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# an absolute path as it appears in text: a "/" not inside a word, a URL or a date, then its parts
_ABSOLUTE = re.compile(r"(?<![\w.~:/\\-])/(?:[^\s'\"<>|,;()\[\]{}/]+/)*[^\s'\"<>|,;()\[\]{}/]+")


def drops_folder(store_path: str | Path, config: Mapping[str, Any]) -> Path:
    """Where POST /runs may read drops from: ``[api] drops_folder``, else ``drops/`` beside the store."""
    configured = (config.get("api") or {}).get("drops_folder") or ""
    return Path(configured) if configured else Path(store_path).resolve().parent / "drops"


class RunPaths:
    """The folders a run's paths are shown relative to: the drops folder, then the store's."""

    def __init__(self, store_path: str | Path, config: Mapping[str, Any]) -> None:
        folders = _spellings(drops_folder(store_path, config)) + _spellings(Path(store_path).absolute().parent)
        self.bases = sorted(dict.fromkeys(folders), key=lambda p: len(str(p)), reverse=True)   # deepest first

    def path(self, value: str) -> str:
        """One absolute path as shown: relative to the deepest known folder holding it, else ``…/name``."""
        p = Path(value)
        spellings = _spellings(p)   # as written, and with links resolved
        for base in self.bases:     # the deepest folder first
            for spelling in spellings:
                if spelling == base:
                    return "."
                if spelling.is_relative_to(base):
                    return str(spelling.relative_to(base))
        return f"…/{p.name}" if p.name else "…"

    def text(self, value: str) -> str:
        """Every absolute path in a text as shown: the known folders first (their names may hold
        spaces), then anything else that looks like one (a "/" that starts a word)."""
        for base in self.bases:
            value = re.sub(re.escape(str(base)) + r"(?![^/\s'\"<>|,;()\[\]{}])(?:/[^\s'\"<>|,;()\[\]{}]*)?",
                           lambda m: self.path(m.group(0).rstrip("/") or "/"), value)
        return _ABSOLUTE.sub(lambda m: self.path(m.group(0)), value)


def _spellings(folder: Path) -> list[Path]:
    """A folder as written and as resolved (a link in its path gives two spellings)."""
    out = [Path(folder)]
    try:
        out.append(Path(folder).resolve())
    except (OSError, RuntimeError, ValueError):   # a link loop, a NUL byte
        pass
    return [p for p in dict.fromkeys(out) if p.is_absolute() and str(p) != "/"]


def shown(value: Any, paths: RunPaths) -> Any:
    """A run row or report with every absolute path in its texts as shown (a copy)."""
    if isinstance(value, str):
        return paths.text(value)
    if isinstance(value, Mapping):
        return {k: shown(v, paths) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [shown(v, paths) for v in value]
    return value
