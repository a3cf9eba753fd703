"""Shared fixtures: small deterministic worlds from fixtures/, and fresh stores."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.store import Store


@pytest.fixture
def store(tmp_path: Path):
    s = Store(tmp_path / "test.duckdb")
    yield s
    s.close()
