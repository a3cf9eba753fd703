"""POST /runs reads only from the drops folder: no path or link out of it, no server path in errors."""

from __future__ import annotations

import os

import pytest

from api.runs import drops_folder, resolve_drop
from core.errors import IntelError


@pytest.fixture
def root(tmp_path):
    drops = tmp_path / "drops"
    (drops / "2026-10-31").mkdir(parents=True)
    (drops / "2026-10-31" / "police.csv").write_text("x")
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "passwd").write_text("root:x")
    os.symlink(secret, drops / "outside")
    (drops / "linked").mkdir()
    os.symlink(secret / "passwd", drops / "linked" / "police.csv")
    return drops


def test_a_drop_in_the_folder_is_found_by_name_or_by_its_path(root):
    assert resolve_drop(root, "2026-10-31") == (root / "2026-10-31").resolve()
    assert resolve_drop(root, str(root / "2026-10-31")) == (root / "2026-10-31").resolve()


@pytest.mark.parametrize("asked", ["/etc", "..", "../secret", "outside", "nothere", "2026-10-31/police.csv", ".",
                                   "a\0b", "x" * 5000, "linked"])
def test_anything_out_of_the_folder_is_refused_without_naming_a_server_path(root, asked):
    with pytest.raises(IntelError) as refused:
        resolve_drop(root, asked)
    message = str(refused.value)
    assert str(root.parent) not in message and "passwd" not in message
    assert "drops folder" in message


def test_the_default_folder_is_beside_the_store_and_config_can_move_it(tmp_path):
    assert drops_folder(tmp_path / "s.duckdb", {"api": {"drops_folder": ""}}) == tmp_path.resolve() / "drops"
    assert drops_folder(tmp_path / "s.duckdb", {"api": {"drops_folder": "/srv/drops"}}) == tmp_path.__class__("/srv/drops")
