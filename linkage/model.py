"""The Splink 5 linkage model session: training, and the trained model's home in the store.

The model links the three agencies' mentions (``link_and_dedupe``: police, social_care and health
are registered with Splink as separate inputs, so a pair within one agency is a duplicate
nominal and a pair across agencies is a link). It runs on DuckDB through the store's own
connection (``store.connection``). The definition is Python (``SettingsCreator`` and Splink's
comparison library, with SQL written for DuckDB and marked so Splink can translate it), so the
same model can be built on Splink's Spark backend. The comparisons are in linkage/comparisons.py,
the blocking rules in linkage/blocking.py; the ``[linkage]`` settings come from the configuration
object the caller passes down (nothing below the command line reads the config file).

Training (``train``): the prior from deterministic rules over all pairs, u by random sampling
(fixed seed and pair budget), m by EM over two blocking sessions so that every comparison is
estimated at least once. The trained model JSON is kept in ``linkage_models`` with its training
date and a fingerprint of the mentions, and reused by later runs until a retrain is asked for.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import splink
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

from core.errors import IntelError
from core.store import Store
from core.store_mode import is_encoded
from linkage import encoded
from linkage import features as F
from linkage.blocking import PRIOR_RULES, blocking_rules
from linkage.comparisons import TWIN_WEIGHT, comparisons

log = logging.getLogger(__name__)

SPLINK_VERSION = splink.__version__
RETRAIN_HINT = "run `intel link --retrain` to train a new model on the current mentions"


# The columns PRIOR_RULES compares exactly: (comparison, feature column) pairs. With
# ``prior_recall = "estimate"`` the rule's recall is estimated from the trained model as the product
# over these of P(both present) * m(exact).
PRIOR_RULE_COLUMNS = (("forename", "forename"), ("surname", "surname"), ("dob", "dob"))
PRIOR_RECALL_START = 0.7     # the recall assumed before the model is trained

# EM sessions: each one trains every comparison that its rule does not use; together, all of them.
EM_SESSIONS = [
    # dob by its parts, not the dob column: the forename comparison's twin level reads dob, and
    # Splink leaves untrained every comparison that reads a column the blocking rule names
    ("dob", block_on("dob_year", "dob_month", "dob_day")),  # names, sex, postcode, address, person_ref
    ("forename+surname", block_on("forename", "surname")),  # dob, sex, postcode, address, person_ref
    # (no session blocked on postcode or address alone: its pairs are mostly households, and EM
    # would learn "same household" instead of "same person")
]


def settings_creator(config: dict[str, Any]) -> SettingsCreator:
    """The untrained model under the configuration's ``[linkage]`` settings."""
    return SettingsCreator(
        link_type="link_and_dedupe",
        unique_id_column_name="mention_id",
        comparisons=comparisons(linkage_config(config)),
        blocking_rules_to_generate_predictions=blocking_rules(linkage_config(config)),
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
        max_iterations=20,
        em_convergence=0.0001,
    )


# --- the model object -----------------------------------------------------------------------

@dataclass
class LinkageModel:
    """A trained model as kept in ``linkage_models``."""

    model_id: str
    trained_at: datetime
    fingerprint: str
    settings: dict[str, Any]          # Splink's model JSON
    splink_version: str = SPLINK_VERSION
    mentions: int = 0
    training: dict[str, Any] = field(default_factory=dict)
    reused: bool = False              # True when loaded from the store rather than trained now


def linkage_config(config: dict[str, Any]) -> dict[str, Any]:
    """The configuration's ``[linkage]`` table over the built-in fallbacks."""
    cfg = {"edge_floor": 0.01, "prior_recall": "estimate", "u_max_pairs": 2_000_000, "u_seed": 42,
           "em_max_pairs": 1_000_000, "twin_weight": TWIN_WEIGHT}
    cfg.update(config.get("linkage", {}))
    return cfg


def estimated_prior_recall(store: Store, table: str, settings: dict[str, Any]) -> float | None:
    """The recall of PRIOR_RULES (exact forename, surname and dob) among true matches, estimated from
    the trained model: for each of the three columns, the chance that both records have it (from
    the data's missing rates) times m of its exact level (the chance that a match agrees exactly),
    multiplied together (Fellegi-Sunter's independence among matches). ``None`` when an m is untrained.

    A fixed assumed recall (0.7) fits clean data only: the rule's true recall was 0.73 on the
    generated world but 0.42 on FEBRL4 and 0.12 on historical_50k (missing dobs, typos), so the
    prior there came out 1.7 and 5.7 times too small, and true matches scored too low. This
    estimate gave 0.71, 0.38 and 0.14 on those three (docs/bench-linkage.md)."""
    n = F.scalar(store, f"SELECT count(*) FROM {table}") or 0
    if not n:
        return None
    recall = 1.0
    for comparison, column in PRIOR_RULE_COLUMNS:
        comp = next((c for c in settings["comparisons"] if c["output_column_name"] == comparison), None)
        exact = next((lv for lv in (comp or {}).get("comparison_levels", [])
                      if lv.get("label_for_charts") == "exact"), None)
        m = (exact or {}).get("m_probability")
        if not m:
            return None
        present = F.scalar(store, f"SELECT count({column}) FROM {table}") / n
        recall *= present * present * float(m)
    return recall


def data_fingerprint(store: Store) -> str:
    """Count and order-independent hash of the mentions' identity and version."""
    n, h = store.connection.execute(
        "SELECT count(*), coalesce(sum(hash(mention_id || ':' || version)), 0) FROM mentions").fetchone()
    return f"{n}:{int(h) & 0xFFFFFFFFFFFFFFFF:016x}"


class TransactionSafeDuckDBAPI(DuckDBAPI):
    """Splink's DuckDB API with probes that never fail inside an open transaction.

    Splink probes for a table with ``PRAGMA table_info`` and drops a registered view by trying
    ``DROP TABLE`` first, catching the error; inside a transaction (every link run is one, and
    the nightly run wraps all its stages in one) that error aborts the transaction. These two
    overrides ask the catalog instead. (Added for the nightly run, findings/runs.py.)"""

    def table_exists_in_database(self, table_name: str) -> bool:
        return self._con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                                 [table_name]).fetchall()[0][0] > 0

    def delete_table_from_database(self, name: str) -> None:
        kind = self._con.execute("SELECT table_type FROM information_schema.tables WHERE table_name = ?",
                                 [name]).fetchall()
        if kind:
            self._con.execute(f"DROP {'VIEW' if kind[0][0] == 'VIEW' else 'TABLE'} IF EXISTS {name}")

    def _setup_for_execute_sql(self, sql: str, physical_name: str) -> str:
        # Splink's working tables as TEMP tables: kept in memory (spilled to DuckDB's temp
        # directory if need be), never written to the store file, gone with the connection.
        self.delete_table_from_database(physical_name)
        return f"CREATE TEMP TABLE {physical_name} AS\n{sql}"


class SplinkSession:
    """Registered inputs and a Linker on the store's connection; ``close()`` removes every table
    Splink made, so nothing of it is left in the store."""

    def __init__(self, store: Store, settings: Any, *, table: str = F.FEATURES_TABLE,
                 build: bool = True, ordered: bool = False) -> None:
        self.store = store
        self.table = table
        if build:
            F.build_features(store, table, ordered=ordered)
        if not F.scalar(store, f"SELECT count(*) FROM {table}"):
            raise IntelError("there are no mentions to link: ingest a drop first (`intel ingest DROP`)")
        # every agency, empty where absent: Splink drops source_dataset when given a single input
        self.views = F.source_views(store, table, all_sources=True)
        self.db_api = TransactionSafeDuckDBAPI(connection=store.connection)
        self.inputs = {src: self.db_api.register(view, dataset_display_name=src)
                       for src, view in self.views.items()}
        self.linker = Linker(list(self.inputs.values()), settings, log_level=logging.WARNING)

    def close(self) -> None:
        try:
            self.db_api.delete_tables_created_by_splink_from_db()
        finally:
            for name in self._leftover_splink_tables():
                F.sql(self.store, f'DROP TABLE IF EXISTS "{name}"')
            F.drop_temp(self.store, list(self.views.values()))

    def _leftover_splink_tables(self) -> list[str]:
        return [r[0] for r in self.store.connection.execute(
            "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE '\\_\\_splink\\_\\_%' ESCAPE '\\'"
        ).fetchall()]

    def __enter__(self) -> SplinkSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def train(store: Store, config: dict[str, Any]) -> LinkageModel:
    """Train a new model on the current mentions and save it in ``linkage_models``."""
    cfg = linkage_config(config)
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    enc = is_encoded(store)   # an encoded store's model: linkage/encoded.py
    creator = encoded.settings_creator(cfg) if enc else settings_creator(config)
    with SplinkSession(store, creator, ordered=True) as s:
        n = int(F.scalar(store, f"SELECT count(*) FROM {s.table}"))
        timings["features_s"] = round(time.perf_counter() - t0, 3)
        t = time.perf_counter()
        estimate_recall = str(cfg["prior_recall"]).strip().lower() == "estimate"
        start_recall = PRIOR_RECALL_START if estimate_recall else float(cfg["prior_recall"])
        s.linker.training.estimate_probability_two_random_records_match(
            list(PRIOR_RULES), recall=start_recall)
        found = s.linker._settings_obj._probability_two_random_records_match
        if not 0 < found < 1:
            # no (or only) deterministic matches in tiny or degenerate data: a usable prior instead
            s.linker._settings_obj._probability_two_random_records_match = 1.0 / max(n, 2)
            estimate_recall = False   # that prior is not the rule's count, so no recall corrects it
        timings["prior_s"] = round(time.perf_counter() - t, 3)
        t = time.perf_counter()
        s.linker.training.estimate_u_using_random_sampling(
            max_pairs=float(cfg["u_max_pairs"]), seed=int(cfg["u_seed"]))
        timings["u_s"] = round(time.perf_counter() - t, 3)
        sessions = []
        for name, rule in (encoded.EM_SESSIONS if enc else EM_SESSIONS):
            t = time.perf_counter()
            try:
                s.linker.training.estimate_parameters_using_expectation_maximisation(
                    rule, max_pairs=float(cfg["em_max_pairs"]))
                sessions.append({"session": name, "seconds": round(time.perf_counter() - t, 3)})
            except Exception as exc:  # a session with no pairs (tiny data) is skipped, not fatal
                log.warning("EM session %s skipped: %s", name, exc)
                sessions.append({"session": name, "skipped": str(exc)[:200]})
        settings = s.linker.misc.save_model_to_json()
        recall = estimated_prior_recall(store, s.table, settings) if estimate_recall else None
    prior = settings.get("probability_two_random_records_match")
    if recall is not None and prior is not None and 0 < prior < 1:
        # the deterministic pairs over the rule's estimated recall instead of the assumed one
        # (EM's sessions do not write the prior back, so it can be corrected after them)
        recall = min(max(recall, 0.05), 1.0)
        prior = prior * start_recall / recall
        settings["probability_two_random_records_match"] = prior
    if prior is None or not 0 < prior < 1:
        # tiny or degenerate data (more deterministic matches than pairs / recall): keep it usable
        prior = min(max(prior or 1e-6, 1e-9), 0.5)
        settings["probability_two_random_records_match"] = prior
    untrained = [c["output_column_name"] for c in settings["comparisons"]
                 if any(lv.get("m_probability") is None for lv in c["comparison_levels"]
                        if not lv.get("is_null_level"))]
    trained_at = datetime.now(timezone.utc).replace(tzinfo=None)
    model_json = json.dumps(settings, sort_keys=True)
    model_id = "M" + trained_at.strftime("%Y%m%d%H%M%S") + "-" + hashlib.sha256(model_json.encode()).hexdigest()[:8]
    training = {"prior": prior, "prior_recall": round(recall if recall is not None else start_recall, 4),
                "em_sessions": sessions, "untrained_comparisons": untrained,
                **timings, "total_s": round(time.perf_counter() - t0, 3)}
    model = LinkageModel(model_id=model_id, trained_at=trained_at, fingerprint=data_fingerprint(store),
                         settings=settings, mentions=n, training=training)
    with store.transaction():
        F.sql(store, 
            "INSERT INTO linkage_models (model_id, trained_at, fingerprint, splink_version, model_json, "
            "mentions, training) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [model.model_id, model.trained_at, model.fingerprint, SPLINK_VERSION, model_json, n,
             json.dumps(training)])
    return model


def latest_model(store: Store) -> LinkageModel | None:
    """The newest saved model, checked; ``None`` when none was saved. A saved model that cannot be
    used raises IntelError saying how to retrain."""
    rows = store.rows("SELECT * FROM linkage_models ORDER BY trained_at DESC, model_id DESC LIMIT 1")
    if not rows:
        return None
    row = rows[0]
    where = f"saved linkage model {row['model_id']} (trained {row['trained_at']})"
    if row["splink_version"] != SPLINK_VERSION:
        raise IntelError(
            f"the {where} was written by Splink {row['splink_version']} but this is Splink "
            f"{SPLINK_VERSION}, and a model's SQL is version-specific: {RETRAIN_HINT}")
    try:
        settings = json.loads(row["model_json"])
        if not isinstance(settings, dict) or not isinstance(settings.get("comparisons"), list):
            raise ValueError("it has no list of comparisons")
        if settings.get("link_type") != "link_and_dedupe":
            raise ValueError(f"link_type is {settings.get('link_type')!r}, not 'link_and_dedupe'")
        if settings.get("sql_dialect") not in (None, "duckdb"):
            raise ValueError(f"it was made for the {settings.get('sql_dialect')} backend, not duckdb")
        _check_settings(settings)
    except (ValueError, TypeError, KeyError) as exc:
        raise IntelError(f"the {where} is corrupt ({exc}): {RETRAIN_HINT}") from exc
    try:
        training = json.loads(row["training"]) if row.get("training") else {}
    except ValueError:
        training = {}
    return LinkageModel(model_id=row["model_id"], trained_at=row["trained_at"], fingerprint=row["fingerprint"],
                        settings=settings, splink_version=row["splink_version"], mentions=row["mentions"],
                        training=training, reused=True)


def _check_settings(settings: dict[str, Any]) -> None:
    """Splink must be able to read the settings (without data)."""
    try:
        SettingsCreator.from_path_or_dict(settings).get_settings("duckdb")
    except Exception as exc:  # Splink raises many types for a bad settings dict
        raise ValueError(f"Splink cannot read it: {type(exc).__name__}: {str(exc)[:300]}") from exc


def load_or_train(store: Store, config: dict[str, Any], retrain: bool = False) -> LinkageModel:
    """The newest saved model, or a new one trained now (and saved) under ``config``'s
    ``[linkage]`` settings if there is none or ``retrain`` is asked for."""
    if not retrain:
        model = latest_model(store)
        if model is not None:
            return model
    return train(store, config)


def open_linker(store: Store, model: LinkageModel, *, table: str = F.FEATURES_TABLE,
                build: bool = True) -> SplinkSession:
    """A Splink session over all mentions with the model's trained settings."""
    try:
        return SplinkSession(store, json.loads(json.dumps(model.settings)), table=table, build=build)
    except IntelError:
        raise
    except Exception as exc:
        raise IntelError(f"linkage model {model.model_id} cannot be loaded by Splink "
                         f"({type(exc).__name__}: {str(exc)[:300]}): {RETRAIN_HINT}") from exc
