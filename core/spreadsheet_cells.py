"""Cells safe to open in a spreadsheet: OWASP's defence against CSV (formula) injection.

A CSV cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a
formula by Excel, LibreOffice and Google Sheets when a user opens the file (``=HYPERLINK(...)``
in a name sent by an agency can leak the sheet or run a command). Every CSV a user may open -
chronology exports, the persons export, quarantine reports - passes its text cells through
:func:`neutralise` (or :func:`neutralise_frame`), which puts a ``'`` before such a cell, as
OWASP recommends: the spreadsheet shows the text, the ``'`` is not displayed, nothing runs.
"""

from __future__ import annotations

import polars as pl

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PATTERN = r"^[=+\-@\t\r]"


def neutralise(value: str) -> str:
    """The cell as text that no spreadsheet runs as a formula."""
    return "'" + value if value.startswith(TRIGGERS) else value


def neutralise_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Every String column of a frame neutralised (numbers, dates and booleans are left as they are)."""
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(_PATTERN)).then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c)).alias(c)
        for c, dtype in frame.schema.items() if dtype == pl.String)
