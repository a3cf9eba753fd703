"""Shared fixtures: small deterministic worlds from fixtures/, and fresh stores."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.store import Store

# CLI reads of personal data need a purpose (intel/cli/reads.py): the tests give one, as an analyst
# exporting INTEL_PURPOSE for a session would; tests of the refusal remove it.
os.environ.setdefault("INTEL_PURPOSE", "automated test of the service")


@pytest.fixture
def store(tmp_path: Path):
    s = Store(tmp_path / "test.duckdb")
    yield s
    s.close()
