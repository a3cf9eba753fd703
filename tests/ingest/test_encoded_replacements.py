"""Replacements that cannot lose data, in an encoded store: a re-sent file is checked on the
encodings (Bloom filters, tokens) the rows it replaces hold, as a clear one is on its columns;
each refusal leaves every table of the store as it was."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from core.errors import IntelError
from core.store import Store
from fixtures.world import generate_world
from ingest.drops import ingest_drop
from ingest import encoded_contract as ec
from ingest.encode import encode_drop
from intel.cli import app

KEY = "3c" * 32


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("enc_replace")
    generate_world(base / "world", households=30, seed=7)
    (base / "k.key").write_text(KEY + "\n")
    encode_drop(base / "world" / "drop", base / "enc", base / "k.key")
    return {"base": base, "clear": base / "world" / "drop", "enc": base / "enc", "key": base / "k.key"}


@pytest.fixture()
def encoded_store(world, tmp_path):
    with Store(tmp_path / "s.duckdb") as store:
        ingest_drop(store, world["enc"])
        yield store


def _resent(world, tmp_path: Path, name: str, drop: tuple[str, ...] = (), withdrawn: list[str] | None = None) -> Path:
    """The agency's police file again (every forename changed, so it is a new file), without the
    columns ``drop``, encoded with the partners' key."""
    clear = tmp_path / f"{name}_clear"
    clear.mkdir()
    police = pl.read_csv(world["clear"] / "police.csv", infer_schema=False).drop(*drop)
    police.with_columns(pl.col("forename") + "e").write_csv(clear / "police.csv")
    if withdrawn is not None:
        (clear / "manifest.json").write_text(json.dumps({"files": {"police.csv": {"withdrawn_columns": withdrawn}}}))
    encode_drop(clear, tmp_path / name, world["key"])
    return tmp_path / name


def _police_encodings(store, column: str) -> int:
    return store.scalar(f"SELECT count({column}) FROM mention_encodings WHERE source = 'police'")


def test_a_resent_encoded_file_with_every_column_replaces_its_rows(world, tmp_path, encoded_store):
    """The clear check read the store's person_ref (a keyed token in an encoded store) as a
    value the encoded file would erase: every re-sent encoded record was refused."""
    before = _police_encodings(encoded_store, "tok_forename")
    out = ingest_drop(encoded_store, _resent(world, tmp_path, "again"))
    assert out["replaced"] > 100
    assert _police_encodings(encoded_store, "tok_forename") == before
    assert encoded_store.scalar("SELECT count(*) FROM mentions_history WHERE source = 'police'") == out["replaced"]


@pytest.mark.parametrize("missing,named", [
    (("surname",), ["enc_surname column (made from surname)", "tok_surname column", "tok_surname_sx column",
                    "tok_surname_initial column"]),
    (("dob",), ["enc_dob column (made from dob)", "tok_dob_year column"]),
    (("uprn",), ["tok_uprn column (made from uprn)"]),
    (("restriction",), ["no restriction column, but the rows it replaces hold"]),
])
def test_a_resent_file_lacking_an_identifier_is_refused_on_its_encodings(world, tmp_path, encoded_store, missing,
                                                                         named):
    drop = _resent(world, tmp_path, "lacking", missing)
    sent = pl.read_csv(drop / "police.csv", infer_schema=False, n_rows=1).columns
    assert missing[0] not in sent and not set(ec.made_from_nothing(set(missing))) & set(sent)
    before = encoded_store.content_digest()
    with pytest.raises(IntelError) as refused:
        ingest_drop(encoded_store, drop)
    message = str(refused.value)
    assert message.startswith("police.csv: no ") and message.endswith("Nothing was loaded")
    for part in named:
        assert part in message
    assert "person_ref" not in message
    assert encoded_store.content_digest() == before


def test_the_cli_refuses_it_with_exit_2_and_every_table_unchanged(world, tmp_path, encoded_store):
    drop = _resent(world, tmp_path, "cli", ("surname", "restriction"))
    before = encoded_store.content_digest()
    db = encoded_store.path
    encoded_store.close()
    done = CliRunner().invoke(app, ["ingest", str(drop), "--db", str(db)])
    assert done.exit_code == 2, done.output
    assert "no enc_surname column (made from surname)" in done.output and "no restriction column" in done.output
    with Store(db) as again:
        assert again.content_digest() == before


def test_a_withdrawn_identifier_withdraws_its_encodings_on_purpose(world, tmp_path, encoded_store):
    drop = _resent(world, tmp_path, "withdrawn", ("surname",), withdrawn=["surname"])
    assert json.loads((drop / "manifest.json").read_text())["files"]["police.csv"]["withdrawn_columns"] == ["surname"]
    held = _police_encodings(encoded_store, "enc_surname")
    out = ingest_drop(encoded_store, drop)
    assert out["replaced"] > 100 and held > 100
    # a record left with fewer than two identifiers without its surname (the world's father with
    # no dob) is not sent by intel encode, so it is not replaced and keeps its encodings
    rejected = tmp_path / "withdrawn.local" / "rejected.csv"
    unsent = (pl.read_csv(rejected, infer_schema=False)["record_id"].unique() if rejected.exists()
              else pl.Series("record_id", [], dtype=pl.String))
    resent = encoded_store.scalar(
        "SELECT count(e.enc_surname) FROM mention_encodings e JOIN mentions m USING (mention_id) "
        "WHERE m.source = 'police' AND list_contains(?, m.record_id) = false", [unsent.to_list()])
    assert out["rejected"] == 0 and resent == 0
    assert _police_encodings(encoded_store, "enc_surname") == unsent.len()


def test_a_hand_made_encoded_file_lacking_a_token_is_refused_unless_withdrawn(world, tmp_path, encoded_store):
    def without_token(name: str, withdrawn: list[str] | None) -> Path:
        drop = tmp_path / name
        shutil.copytree(world["enc"], drop)
        frame = pl.read_csv(drop / "police.csv", infer_schema=False).drop("tok_uprn")
        frame.write_csv(drop / "police.csv")
        manifest = json.loads((drop / "manifest.json").read_text())
        manifest["files"] = {"police.csv": {"withdrawn_columns": withdrawn} if withdrawn else {}}
        (drop / "manifest.json").write_text(json.dumps(manifest))
        for f in ("social_care.csv", "health.csv"):
            (drop / f).unlink()
        return drop

    before = encoded_store.content_digest()
    with pytest.raises(IntelError, match=r"no tok_uprn column \(made from uprn\), but the rows it replaces hold \d+"):
        ingest_drop(encoded_store, without_token("plain", None))
    assert encoded_store.content_digest() == before
    with pytest.raises(IntelError, match="withdraws enc_surname, but the file has that column"):
        ingest_drop(encoded_store, without_token("wrong", ["tok_uprn", "enc_surname"]))
    assert encoded_store.content_digest() == before
    assert ingest_drop(encoded_store, without_token("on_purpose", ["tok_uprn"]))["replaced"] > 100
    assert _police_encodings(encoded_store, "tok_uprn") == 0


def test_new_encoded_records_without_an_identifier_still_load(world, tmp_path):
    """Only replacements are checked: an agency that never held the UPRN sends no token of it."""
    drop = _resent(world, tmp_path, "first", ("uprn", "middle_names"))
    with Store(tmp_path / "new.duckdb") as store:
        out = ingest_drop(store, drop)
        assert out["loaded"] > 100 and out["replaced"] == 0
        assert _police_encodings(store, "tok_uprn") == 0 and _police_encodings(store, "tok_surname") > 100
