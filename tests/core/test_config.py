"""Configuration: shipped defaults under one hub file, merged key by key; broken files refused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.config import load_config
from core.errors import IntelError


def test_defaults_hold_the_contract_harm_definition() -> None:
    config = load_config()
    assert config["harm"]["police"]["roles"] == ["victim", "subject", "child_present"]
    assert "fracture" in config["harm"]["health"]["presentations"]


def test_a_hub_file_overrides_only_what_it_names_and_changes_are_seen(tmp_path: Path) -> None:
    hub = tmp_path / "hub.toml"
    hub.write_text('[harm.police]\nroles = ["victim"]\n')
    config = load_config(hub)
    assert config["harm"]["police"]["roles"] == ["victim"]
    assert config["harm"]["police"]["event_types"] == load_config()["harm"]["police"]["event_types"]
    hub.write_text('[harm.police]\nroles = ["subject"]\n')
    os.utime(hub, ns=(1, 10**18))  # a new modification time, as an edit gives
    assert load_config(hub)["harm"]["police"]["roles"] == ["subject"]


def test_no_caller_can_change_what_another_reads() -> None:
    with pytest.raises(TypeError, match="read-only"):
        load_config()["harm"]["police"]["roles"].append("witness")
    with pytest.raises(TypeError, match="read-only"):
        load_config()["harm"]["police"] = {}
    assert "witness" not in load_config()["harm"]["police"]["roles"]


def test_broken_or_missing_files_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(IntelError, match="does not exist"):
        load_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[harm\n")
    with pytest.raises(IntelError, match="is not valid TOML"):
        load_config(bad)
    monkeypatch.setenv("INTEL_CONFIG", str(bad))
    with pytest.raises(IntelError, match="bad.toml is not valid TOML"):
        load_config()
