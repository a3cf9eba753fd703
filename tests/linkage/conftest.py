"""Fixtures shared by the linkage tests."""

from __future__ import annotations

import pytest

from tests.linkage.test_model_data import trained_copy


@pytest.fixture
def tstore(tmp_path):
    """A copy of the small trained store (tests/linkage/test_model_data.py), closed afterwards."""
    s = trained_copy(tmp_path)
    yield s
    s.close()
