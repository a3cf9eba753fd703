"""Export the persons: one row per mention, ``source, record_id, person_id, link_probability``.

Every mention is exported; an unlinkable one is a person of its own, never dropped. A store with
mentions that no link run has placed yet is refused (run ``intel link`` first) rather than
exported with holes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from core.spreadsheet_cells import neutralise_frame
from core.errors import IntelError
from core.store import Store
from linkage.identity import scalar


def persons_frame(store: Store) -> pl.DataFrame:
    """source, record_id, person_id, link_probability for every mention (sorted)."""
    missing = scalar(store, 
        "SELECT count(*) FROM mentions m LEFT JOIN person_mentions pm USING (mention_id) WHERE pm.mention_id IS NULL")
    if missing:
        raise IntelError(f"{missing} mentions have not been linked into persons yet: run `intel link` first")
    return store.df(
        "SELECT m.source, m.record_id, pm.person_id, pm.link_probability "
        "FROM mentions m JOIN person_mentions pm USING (mention_id) ORDER BY m.source, m.record_id")


def export_persons(store: Store, out: str | Path) -> dict[str, Any]:
    """Write the persons CSV to ``out``; returns what was written."""
    frame = persons_frame(store)
    out = Path(out)
    if out.is_dir():
        raise IntelError(f"--out {out} is a folder; give a file name such as persons.csv")
    out.parent.mkdir(parents=True, exist_ok=True)
    neutralise_frame(frame).write_csv(out)   # a spreadsheet runs no cell (core/spreadsheet_cells.py)
    return {
        "out": str(out),
        "rows": frame.height,
        "persons": frame["person_id"].n_unique(),
        "singletons": int((frame.group_by("person_id").len()["len"] == 1).sum()),
    }
