"""Ingest: the contract's rules, refusals that leave the store untouched, replacement, mappings."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from ingest import contract
from intel.cli import app
from core.errors import IntelError
from ingest.drops import ingest_drop
from ingest.mapping import load_profile, parse_mapping_options
from core.store import Store

MAPPINGS = Path(__file__).resolve().parents[2] / "ingest" / "mappings"


def row(source: str = "police", **overrides: str) -> dict[str, str]:
    """A valid contract row for a source; keyword arguments override columns."""
    base = {c: "" for c in contract.COMMON_COLUMNS}
    base.update(
        record_id="R1", event_id="E1", event_date="2024-03-01T22:10:00",
        role=contract.ROLES[source][0], event_type=contract.EVENT_TYPES[source][0],
        person_ref="N1", forename="Sarah", surname="Hughes", dob="1991-07-14", sex="F",
        address="4 Mill Lane", postcode="nb1 4ql", uprn="", borough="Northborough", restriction="",
    )
    for column in contract.SOURCE_COLUMNS[source]:
        base[column] = ""
    base.update(overrides)
    return base


def write_csv(path: Path, rows: list[dict[str, str]], columns: list[str] | None = None) -> Path:
    columns = columns or list(rows[0])
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def make_drop(folder: Path, files: dict[str, list[dict[str, str]]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in files.items():
        write_csv(folder / name, rows)
    return folder


def police_rows(n: int = 3) -> list[dict[str, str]]:
    return [row("police", record_id=f"R{i}", event_id=f"E{i}", person_ref=f"N{i}") for i in range(1, n + 1)]


# --- loading -----------------------------------------------------------------------------------

def test_valid_drop_loads_normalised_beside_raw_with_provenance(store: Store, tmp_path: Path) -> None:
    drop = make_drop(tmp_path / "drop", {
        "police.csv": [row("police", forename=" Zoë ", surname="O'Brien - Smith", postcode="sw1a1aa",
                           address="12 Acacia Rd.", uprn="", dash_risk="high")],
        "social_care.csv": [row("social_care", record_id="S1", uprn="000123", final_rag="red",
                                initial_rag="amber", decision_date="2024-03-02 09:00", outcome="s47_enquiry")],
        "health.csv": [row("health", record_id="H1", presentation="fracture", safeguarding_concern="TRUE",
                           restriction="health_confidential")],
    })
    summary = ingest_drop(store, drop)
    assert summary["loaded"] == 3 and summary["rejected"] == 0 and summary["skipped_files"] == 0
    assert set(summary["files"]) == {"police.csv", "social_care.csv", "health.csv"}

    m = store.rows("SELECT * FROM mentions WHERE mention_id = 'police:R1'")[0]
    assert (m["forename"], m["forename_raw"]) == ("zoe", "Zoë")
    assert (m["surname"], m["surname_raw"]) == ("obrien-smith", "O'Brien - Smith")
    assert (m["postcode"], m["postcode_raw"]) == ("SW1A 1AA", "sw1a1aa")
    assert m["address"] == "12 acacia road"
    assert m["household_key"] == "addr:12 acacia road|SW1A 1AA"
    assert m["restriction"] == "none"  # empty means the default
    assert m["file_name"] == "police.csv" and m["row_number"] == 1 and m["version"] == 1
    assert m["file_sha256"] == hashlib.sha256((drop / "police.csv").read_bytes()).hexdigest()
    assert m["drop_id"] == summary["drop_id"]

    sc = store.rows("SELECT household_key FROM mentions WHERE mention_id = 'social_care:S1'")[0]
    assert sc["household_key"] == "uprn:123"  # UPRN beats the address; zero padding dropped
    event = store.rows("SELECT * FROM events WHERE event_key = 'social_care:E1'")[0]
    assert (event["final_rag"], event["outcome"]) == ("red", "s47_enquiry")
    assert str(event["decision_date"]) == "2024-03-02 09:00:00"
    health = store.rows("SELECT * FROM events WHERE event_key = 'health:E1'")[0]
    assert health["safeguarding_concern"] is True and health["presentation"] == "fracture"
    assert store.scalar("SELECT count(*) FROM drops") == 1
    assert store.scalar("SELECT count(*) FROM ingested_files") == 3


def test_one_event_row_per_event_and_mentions_per_person(store: Store, tmp_path: Path) -> None:
    rows = [row("police", record_id=f"R{i}", event_id="E9", role=role, person_ref=f"N{i}", dash_risk="medium",
                event_type="domestic_abuse")
            for i, role in enumerate(["victim", "suspect", "child_present"])]
    ingest_drop(store, make_drop(tmp_path / "d", {"police.csv": rows}))
    assert store.scalar("SELECT count(*) FROM events") == 1
    assert store.scalar("SELECT count(*) FROM mentions WHERE event_key = 'police:E9'") == 3


def test_bom_tolerated_and_parquet_accepted(store: Store, tmp_path: Path) -> None:
    drop = tmp_path / "d"
    drop.mkdir()
    path = write_csv(drop / "police_a.csv", police_rows(2))
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    pl.DataFrame([row("health", record_id="H7", safeguarding_concern="false")]).with_columns(
        pl.lit(False).alias("safeguarding_concern")).write_parquet(drop / "health_b.parquet")
    summary = ingest_drop(store, drop)
    assert summary["loaded"] == 3, summary
    assert store.scalar("SELECT safeguarding_concern FROM events WHERE source = 'health'") is False


# --- row rules: each reason quarantines its row and the rest loads ----------------------------

ROW_RULES = [
    ("police", {"record_id": ""}, "record_id", "record_id is required"),
    ("police", {"event_id": ""}, "event_id", "event_id is required"),
    ("police", {"event_date": ""}, "event_date", "event_date is required"),
    ("police", {"role": ""}, "role", "role is required"),
    ("police", {"event_type": ""}, "event_type", "event_type is required"),
    ("police", {"role": "patient"}, "role", "role 'patient' is not one of"),
    ("police", {"event_type": "neglect"}, "event_type", "event_type 'neglect' is not one of"),
    ("police", {"sex": "X"}, "sex", "sex 'X' is not one of"),
    ("police", {"restriction": "secret"}, "restriction", "restriction 'secret' is not one of"),
    ("police", {"event_date": "2024-13-01"}, "event_date", "is not an ISO 8601 date"),
    ("police", {"event_date": "01/03/2024"}, "event_date", "is not an ISO 8601 date"),
    ("police", {"dob": "14/07/1991"}, "dob", "is not an ISO date"),
    ("police", {"dob": "1850-01-01"}, "dob", "is before 1900"),
    ("police", {"forename": "", "dob": "", "person_ref": ""}, "forename,surname,dob,person_ref", "fewer than two"),
    ("police", {"dash_risk": "extreme", "event_type": "domestic_abuse"}, "dash_risk", "dash_risk 'extreme'"),
    ("police", {"dash_risk": "high", "event_type": "violence"}, "dash_risk", "domestic_abuse events only"),
    ("social_care", {"initial_rag": "purple"}, "initial_rag", "initial_rag 'purple'"),
    ("social_care", {"final_rag": "black"}, "final_rag", "final_rag 'black'"),
    ("social_care", {"outcome": "prison"}, "outcome", "outcome 'prison'"),
    ("social_care", {"referral_source": "psychic"}, "referral_source", "referral_source 'psychic'"),
    ("social_care", {"decision_date": "tomorrow"}, "decision_date", "is not an ISO 8601 date-time"),
    ("health", {"presentation": "sniffles"}, "presentation", "presentation 'sniffles'"),
    ("health", {"safeguarding_concern": "maybe"}, "safeguarding_concern", "is not true or false"),
    ("health", {"role": "suspect"}, "role", "role 'suspect' is not one of"),
]


@pytest.mark.parametrize("source,overrides,column,reason", ROW_RULES,
                         ids=[f"{s}-{c}-{r[:20]}" for s, _, c, r in ROW_RULES])
def test_each_row_rule_quarantines_the_row_and_loads_the_rest(
        store: Store, tmp_path: Path, source: str, overrides: dict[str, str], column: str, reason: str) -> None:
    good = [row(source, record_id="OK1", event_id="E1"), row(source, record_id="OK2", event_id="E2")]
    bad = row(source, record_id=overrides.get("record_id", "BAD"), event_id=overrides.get("event_id", "E3"))
    bad.update(overrides)
    drop = make_drop(tmp_path / "d", {f"{source}.csv": [good[0], bad, good[1]]})
    summary = ingest_drop(store, drop, report_dir=tmp_path / "reports")
    assert summary["loaded"] == 2 and summary["rejected"] == 1
    q = store.rows("SELECT * FROM quarantine")
    assert any(r["column_name"] == column and reason in r["reason"] for r in q), q
    assert all(r["row_number"] == 2 and r["file_name"] == f"{source}.csv" for r in q)
    report = pl.read_csv(summary["quarantine_report"])
    assert report.columns == ["file_name", "row_number", "column_name", "reason", "raw_row"]
    assert report["row_number"].to_list()[0] == 2
    assert json.loads(report["raw_row"][0])["record_id"] == bad["record_id"]  # the row as sent
    assert store.scalar("SELECT count(*) FROM mentions") == 2


def test_duplicate_record_id_quarantines_every_copy(store: Store, tmp_path: Path) -> None:
    rows = police_rows(3)
    rows[2]["record_id"] = "R1"
    summary = ingest_drop(store, make_drop(tmp_path / "d", {"police.csv": rows}), report_dir=tmp_path / "r")
    assert summary["loaded"] == 1 and summary["rejected"] == 2
    reasons = store.rows("SELECT row_number, reason FROM quarantine ORDER BY row_number")
    assert [r["row_number"] for r in reasons] == [1, 3]
    assert "rows 1, 3" in reasons[0]["reason"]


def test_dob_after_the_event_loads_with_a_warning(store: Store, tmp_path: Path) -> None:
    # a keying error (day and month swapped on a newborn's record) is still this person's record
    summary = ingest_drop(store, make_drop(tmp_path / "d", {"police.csv": [row(dob="2024-12-02")]}))
    assert summary["loaded"] == 1 and summary["rejected"] == 0
    assert summary["files"]["police.csv"]["warnings"] == {"dob after event_date": 1}
    assert str(store.scalar("SELECT dob FROM mentions")) == "2024-12-02"


def test_unparseable_postcode_keeps_the_row_and_the_raw_value(store: Store, tmp_path: Path) -> None:
    ingest_drop(store, make_drop(tmp_path / "d", {"police.csv": [row(postcode="NOT A POSTCODE")]}))
    m = store.rows("SELECT postcode, postcode_raw, household_key FROM mentions")[0]
    assert m == {"postcode": None, "postcode_raw": "NOT A POSTCODE", "household_key": None}


# --- refusals: the whole drop, with a message naming the file and the problem -------------------

def _refusals(tmp_path: Path) -> list[tuple[str, Path, str]]:
    cases = []

    def case(name: str, message: str, build) -> None:
        folder = tmp_path / name
        folder.mkdir()
        write_csv(folder / "social_care.csv", [row("social_care", record_id="GOOD")])  # a usable file beside
        build(folder)
        cases.append((name, folder, message))

    case("missing_column", "police.csv: missing required column(s) event_type",
         lambda f: write_csv(f / "police.csv", police_rows(), [c for c in row() if c != "event_type"]))
    case("not_utf8", "police.csv: not UTF-8 text (byte 0xeb on line 2)",
         lambda f: (f / "police.csv").write_bytes(
             "record_id,event_id,event_date,role,event_type,forename,surname\nR1,E1,2024-01-01,victim,other,Zo\u00eb,Ng\n"
             .encode("latin-1")))
    case("not_csv", "notes.txt: not a CSV or Parquet file", lambda f: (f / "notes.txt").write_text("hello"))
    case("unknown_source", "probation.csv: unknown source", lambda f: write_csv(f / "probation.csv", police_rows()))
    case("empty_file", "police.csv: the file is empty", lambda f: (f / "police.csv").write_bytes(b""))
    case("bad_parquet", "police.parquet: not readable as Parquet", lambda f: (f / "police.parquet").write_bytes(b"PAR1garbage"))
    case("binary_csv", "police.csv: binary content", lambda f: (f / "police.csv").write_bytes(b"\x00\x01\x02record_id\n"))

    def manifest(f: Path, body: object) -> None:
        (f / "manifest.json").write_text(body if isinstance(body, str) else json.dumps(body))

    case("manifest_sha", "social_care.csv: sha256 does not match manifest.json",
         lambda f: manifest(f, {"files": {"social_care.csv": {"sha256": "0" * 64}}}))
    case("manifest_rows", "social_care.csv: 1 data rows, but manifest.json says 5",
         lambda f: manifest(f, {"files": {"social_care.csv": {"rows": 5}}}))
    case("manifest_missing_file", "manifest.json: lists health.csv, which is not in the drop",
         lambda f: manifest(f, {"files": {"health.csv": {"rows": 1}}}))
    case("manifest_json", "manifest.json: not valid JSON", lambda f: manifest(f, "{not json"))
    case("manifest_date", "extract_date '31/10/2026' is not YYYY-MM-DD",
         lambda f: manifest(f, {"extract_date": "31/10/2026"}))
    return cases


def test_every_refusal_names_the_file_and_leaves_the_store_exactly_as_before(store: Store, tmp_path: Path) -> None:
    ingest_drop(store, make_drop(tmp_path / "earlier", {"police.csv": police_rows()}))
    before = store.content_digest()
    for name, folder, message in _refusals(tmp_path):
        with pytest.raises(IntelError) as err:
            ingest_drop(store, folder)
        assert message in str(err.value), (name, str(err.value))
        assert store.content_digest() == before, name


def test_missing_or_empty_drop_folder_is_refused(store: Store, tmp_path: Path) -> None:
    with pytest.raises(IntelError, match="does not exist"):
        ingest_drop(store, tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(IntelError, match="holds no police"):
        ingest_drop(store, tmp_path / "empty")
    (tmp_path / "afile").write_text("x")
    with pytest.raises(IntelError, match="is not a folder"):
        ingest_drop(store, tmp_path / "afile")


def test_a_matching_manifest_is_accepted_and_its_extract_date_kept(store: Store, tmp_path: Path) -> None:
    drop = make_drop(tmp_path / "d", {"police.csv": police_rows(2)})
    sha = hashlib.sha256((drop / "police.csv").read_bytes()).hexdigest()
    (drop / "manifest.json").write_text(json.dumps(
        {"extract_date": "2026-10-31", "files": {"police.csv": {"rows": 2, "sha256": sha}}}))
    summary = ingest_drop(store, drop)
    assert summary["extract_date"] == "2026-10-31" and summary["loaded"] == 2
    assert str(store.scalar("SELECT extract_date FROM drops")) == "2026-10-31"


# --- re-ingest and re-sent rows ----------------------------------------------------------------

def test_reingesting_the_same_drop_changes_nothing(store: Store, tmp_path: Path) -> None:
    drop = make_drop(tmp_path / "d", {"police.csv": police_rows()})
    ingest_drop(store, drop)
    before = store.content_digest()
    again = ingest_drop(store, drop)
    assert again["skipped_files"] == 1 and again["loaded"] == 0
    assert again["files"]["police.csv"]["status"] == "skipped"
    assert store.content_digest() == before


def test_resent_record_replaces_and_keeps_the_earlier_version(store: Store, tmp_path: Path) -> None:
    ingest_drop(store, make_drop(tmp_path / "d1", {"police.csv": police_rows(3)}))
    corrected = row("police", record_id="R2", event_id="E2", person_ref="N2", surname="Hughes-Carter")
    summary = ingest_drop(store, make_drop(tmp_path / "d2", {"police_corrections.csv": [corrected]}))
    assert summary["replaced"] == 1
    current = store.rows("SELECT surname, version, file_name FROM mentions WHERE mention_id = 'police:R2'")
    assert current == [{"surname": "hughes-carter", "version": 2, "file_name": "police_corrections.csv"}]
    history = store.rows("SELECT surname, version, replaced_by_drop FROM mentions_history")
    assert history == [{"surname": "hughes", "version": 1, "replaced_by_drop": summary["drop_id"]}]
    assert store.scalar("SELECT count(*) FROM mentions") == 3
    # a third version keeps counting
    corrected["surname"] = "Carter"
    ingest_drop(store, make_drop(tmp_path / "d3", {"police.csv": [corrected]}))
    assert store.scalar("SELECT version FROM mentions WHERE mention_id = 'police:R2'") == 3
    assert store.scalar("SELECT count(*) FROM mentions_history") == 2


# --- agency mappings -----------------------------------------------------------------------------

def test_example_police_mapping_ingests_the_forces_own_export(store: Store, tmp_path: Path) -> None:
    drop = tmp_path / "force"
    drop.mkdir()
    (drop / "police_export.csv").write_bytes((MAPPINGS / "example_police_export.csv").read_bytes())
    profiles = parse_mapping_options([f"police={MAPPINGS / 'example_police.toml'}"])
    summary = ingest_drop(store, drop, mappings=profiles, report_dir=tmp_path / "r")
    assert summary["loaded"] == 4 and summary["rejected"] == 1
    assert summary["files"]["police_export.csv"]["mapping"] == "example_police.toml"
    victim = store.rows("SELECT * FROM mentions WHERE mention_id = 'police:NO-1001'")[0]
    assert (victim["role"], victim["event_type"], victim["sex"]) == ("victim", "domestic_abuse", "F")
    assert str(victim["dob"]) == "1991-07-14" and victim["dob_raw"] == "1991-07-14"
    assert str(victim["event_date"]) == "2024-02-03 23:15:00"
    assert victim["borough"] == "Northborough" and victim["postcode"] == "NB1 4QL"
    assert store.scalar("SELECT dash_risk FROM events WHERE event_key = 'police:OCC/24/0001'") == "high"
    reasons = {r["column_name"]: r["reason"] for r in store.rows("SELECT column_name, reason FROM quarantine")}
    assert "role 'X'" in reasons["role"]  # an unmapped code reaches quarantine as sent
    assert "'31/02/1980'" in reasons["dob"]  # an impossible date too


@pytest.mark.parametrize("body,message", [
    ('source = "probation"\n', "'source' must be one of"),
    ('source = "police"\n[columns]\nshoe_size = "Shoe"\n', "not in the contract: shoe_size"),
    ('source = "police"\n[formats]\nsurname = "%d"\n', "applies to dates only"),
    ('source = "police"\nextra = 1\n', "unknown key(s) extra"),
    ('source = "police"\n[columns\n', "is not valid TOML"),
])
def test_broken_mapping_profiles_are_refused(tmp_path: Path, body: str, message: str) -> None:
    profile = tmp_path / "p.toml"
    profile.write_text(body)
    with pytest.raises(IntelError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_profile(profile)


def test_mapping_option_errors(tmp_path: Path) -> None:
    with pytest.raises(IntelError, match="expected SOURCE=PROFILE.toml"):
        parse_mapping_options(["police"])
    with pytest.raises(IntelError, match="unknown source 'probation'"):
        parse_mapping_options(["probation=x.toml"])
    with pytest.raises(IntelError, match="the profile is for source 'police', not 'health'"):
        parse_mapping_options([f"health={MAPPINGS / 'example_police.toml'}"])
    with pytest.raises(IntelError, match="does not exist"):
        parse_mapping_options(["police=/no/such.toml"])


def test_export_missing_a_mapped_column_refuses_the_drop(store: Store, tmp_path: Path) -> None:
    drop = tmp_path / "force"
    drop.mkdir()
    export = pl.read_csv(MAPPINGS / "example_police_export.csv", infer_schema=False).drop("Surname")
    export.write_csv(drop / "police.csv")
    before = store.content_digest()
    with pytest.raises(IntelError, match="lacks column\\(s\\) 'Surname'"):
        ingest_drop(store, drop, mappings=parse_mapping_options([f"police={MAPPINGS / 'example_police.toml'}"]))
    assert store.content_digest() == before


# --- the command line ----------------------------------------------------------------------------

def test_cli_ingest_prints_json_and_refuses_with_exit_2(tmp_path: Path) -> None:
    db = tmp_path / "cli.duckdb"
    runner = CliRunner()
    good = make_drop(tmp_path / "good", {"police.csv": police_rows(2)})
    result = runner.invoke(app, ["ingest", str(good), "--db", str(db)])
    assert result.exit_code == 2 and "no store at" in result.stderr and not db.exists()   # a first ingest says --create
    result = runner.invoke(app, ["ingest", str(good), "--db", str(db), "--create"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["loaded"] == 2

    bad = tmp_path / "bad"
    bad.mkdir()
    write_csv(bad / "police.csv", police_rows(), [c for c in row() if c != "record_id"])
    result = runner.invoke(app, ["ingest", str(bad), "--db", str(db)])
    assert result.exit_code == 2
    assert "police.csv: missing required column(s) record_id" in result.stderr
    with Store(db) as s:
        assert s.scalar("SELECT count(*) FROM mentions") == 2

    result = runner.invoke(app, ["ingest", str(good), "--db", str(db), "--mapping", "police"])
    assert result.exit_code == 2 and "expected SOURCE=PROFILE.toml" in result.stderr
