"""CLI reads of personal data are audited like the API's: the operating-system user, a purpose,
what was asked and what came back, in the same keyed audit chain (access/audit.py).

``--purpose`` (or ``$INTEL_PURPOSE``) is required by every command that reads personal data
(chronology, network, search, export persons, explain, the review queue, the alerts list), as ``X-Purpose`` is by the API: without one the
command exits 2 before opening the store. The entry is written before the command prints its
answer; a read refused by the library (an unknown person, a bad date) is recorded too, with the
status the API would answer (404 or 400), as refused API requests are.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from access.audit import record
from core.errors import IntelError, NotFound
from core.store import Store
from intel.cli.common import cli_actor, fail, opened_store

PurposeOption = Annotated[
    Optional[str],
    typer.Option("--purpose", help="Why you need this personal data (recorded in the audit log with your "
                                   "login name). Default: $INTEL_PURPOSE. Required."),
]


def require_purpose(purpose: str | None, cfg: Mapping[str, Any]) -> str:
    """The purpose given (option, else $INTEL_PURPOSE), or exit 2 saying how to give one."""
    why = (purpose if purpose is not None else os.environ.get("INTEL_PURPOSE", "")).strip()
    shortest = int(cfg.get("api", {}).get("min_purpose_length", 4))
    if len(why) < shortest:
        fail("this command reads personal data: say why with --purpose \"...\" or $INTEL_PURPOSE (at least "
             f"{shortest} characters; it is recorded in the audit log with your login name)")
    return why


@dataclass
class AuditedRead:
    """One read being made: the store, and what to record about it (``done`` records it)."""
    store: Store
    cfg: Mapping[str, Any]
    command: str
    purpose: str
    subject_kind: str
    subject_id: str | None
    detail: dict[str, Any] = field(default_factory=dict)
    recorded: bool = False

    def done(self, subject_id: str | None = None, **detail: Any) -> None:
        """Record the read as answered (before the answer is printed)."""
        self.detail.update(detail)
        self._record(200, subject_id)

    def _record(self, status: int, subject_id: str | None = None) -> None:
        if self.recorded:
            return
        self.recorded = True
        record(self.store, self.cfg, user_name=cli_actor(), role="cli", method="CLI", endpoint=self.command,
               path=" ".join(["intel", *sys.argv[1:]])[:2000], status=status, subject_kind=self.subject_kind,
               subject_id=subject_id or self.subject_id, purpose=self.purpose, detail=self.detail or None)


@contextmanager
def audited_read(db: Path | None, cfg: Mapping[str, Any], purpose: str | None, *, command: str,
                 subject_kind: str, subject_id: str | None) -> Iterator[AuditedRead]:
    """Open the store for a read of personal data that is recorded in the audit log."""
    why = require_purpose(purpose, cfg)
    with opened_store(db) as store:
        read = AuditedRead(store, cfg, command, why, subject_kind, subject_id)
        try:
            yield read
        except NotFound:
            read._record(404)
            raise
        except IntelError:
            read._record(400)
            raise
        read._record(200)
