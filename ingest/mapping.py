"""Agency column mappings: a small TOML profile turns an agency's own export into the contract.

A profile is configuration, not code::

    source = "police"                    # which contract source the export becomes

    [columns]                            # contract column = the export's column name
    record_id = "Person Occurrence ID"
    surname = "Surname"
    dob = "DOB"

    [formats]                            # strptime formats of the export's dates
    dob = "%d/%m/%Y"
    event_date = "%d/%m/%Y %H:%M"

    [values.role]                        # the export's codes -> the contract's values
    V = "victim"
    S = "suspect"

    [constants]                          # a value for every row, for columns the export lacks
    borough = "Camden"

Export columns the profile does not name are dropped; contract columns neither mapped nor
constant are absent (and the contract's required-column check then names them).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ingest import contract
from core.errors import IntelError

_KNOWN_COLUMNS = set(contract.COMMON_COLUMNS) | set(contract.ALL_SOURCE_COLUMNS)
_DATE_COLUMNS = {"event_date": "%Y-%m-%dT%H:%M:%S", "dob": "%Y-%m-%d", "decision_date": "%Y-%m-%dT%H:%M:%S"}


@dataclass(frozen=True)
class MappingProfile:
    path: Path
    source: str
    columns: dict[str, str]
    formats: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.name


def load_profile(path: str | Path) -> MappingProfile:
    """Read and check a profile; every problem is an IntelError naming the file and the key."""
    path = Path(path)
    if not path.is_file():
        raise IntelError(f"mapping profile {path} does not exist")
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise IntelError(f"mapping profile {path} is not valid TOML: {exc}") from exc
    source = raw.get("source")
    if source not in contract.SOURCES:
        raise IntelError(f"mapping profile {path}: 'source' must be one of {', '.join(contract.SOURCES)}, got {source!r}")
    sections = {key: raw.get(key, {}) for key in ("columns", "formats", "values", "constants")}
    for key, section in sections.items():
        if not isinstance(section, dict):
            raise IntelError(f"mapping profile {path}: [{key}] must be a table")
    unknown = set(raw) - {"source", *sections}
    if unknown:
        raise IntelError(f"mapping profile {path}: unknown key(s) {', '.join(sorted(unknown))}")
    for key in ("columns", "formats", "values", "constants"):
        bad = set(sections[key]) - _KNOWN_COLUMNS
        if bad:
            raise IntelError(f"mapping profile {path}: [{key}] names column(s) not in the contract: {', '.join(sorted(bad))}")
    for column, fmt in sections["formats"].items():
        if column not in _DATE_COLUMNS:
            raise IntelError(f"mapping profile {path}: [formats] applies to dates only ({', '.join(_DATE_COLUMNS)}), not {column}")
        if not isinstance(fmt, str) or "%" not in fmt:
            raise IntelError(f"mapping profile {path}: [formats] {column} must be a strptime format such as '%d/%m/%Y'")
    for column, table in sections["values"].items():
        if not isinstance(table, dict):
            raise IntelError(f"mapping profile {path}: [values.{column}] must be a table of code = value")
    return MappingProfile(
        path=path,
        source=source,
        columns={k: str(v) for k, v in sections["columns"].items()},
        formats=dict(sections["formats"]),
        values={k: {str(a): str(b) for a, b in v.items()} for k, v in sections["values"].items()},
        constants={k: str(v) for k, v in sections["constants"].items()},
    )


def parse_mapping_options(options: list[str]) -> dict[str, MappingProfile]:
    """``["police=path.toml", ...]`` from the command line into profiles by source."""
    profiles: dict[str, MappingProfile] = {}
    for option in options:
        source, sep, file_name = option.partition("=")
        if not sep or not file_name:
            raise IntelError(f"--mapping {option!r}: expected SOURCE=PROFILE.toml, e.g. police=profiles/police.toml")
        if source not in contract.SOURCES:
            raise IntelError(f"--mapping {option!r}: unknown source {source!r}; sources are {', '.join(contract.SOURCES)}")
        profile = load_profile(file_name)
        if profile.source != source:
            raise IntelError(f"--mapping {option!r}: the profile is for source {profile.source!r}, not {source!r}")
        profiles[source] = profile
    return profiles


def apply_profile(frame: pl.DataFrame, profile: MappingProfile, file_name: str) -> pl.DataFrame:
    """The export (all String columns) reshaped into the contract's columns and codes.

    Values that do not convert (an unknown code, a date in another format) are passed on
    unchanged, so the contract's row checks quarantine them with the value as sent.
    """
    missing = [src for src in profile.columns.values() if src not in frame.columns]
    if missing:
        raise IntelError(
            f"{file_name}: the export lacks column(s) {', '.join(repr(m) for m in missing)} "
            f"that mapping profile {profile.name} maps")
    exprs: list[pl.Expr] = []
    for target, src in profile.columns.items():
        col = pl.col(src).str.strip_chars()
        if target in profile.values:
            codes = profile.values[target]
            col = col.replace(codes)
        if target in profile.formats:
            parsed = col.str.strptime(pl.Datetime, profile.formats[target], strict=False)
            col = pl.when(parsed.is_not_null()).then(parsed.dt.strftime(_DATE_COLUMNS[target])).otherwise(col)
        exprs.append(col.alias(target))
    for target, value in profile.constants.items():
        if target not in profile.columns:
            exprs.append(pl.lit(value, dtype=pl.String).alias(target))
    return frame.select(exprs)
