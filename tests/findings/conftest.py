"""Fixtures for the findings tests: the hand-built metrics hub (tests/findings/metrics_hub.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.store import Store
from tests.findings.metrics_hub import build_hub


@pytest.fixture(scope="module")
def hub_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("hub") / "hub.duckdb"
    with Store(path) as store:
        build_hub(store)
    return path
