"""The Splink 5 linkage model: its definition, training, and its home in the store.

The model links the three agencies' mentions (``link_and_dedupe``: police, social_care and health
are registered with Splink as separate inputs, so a pair within one agency is a duplicate
nominal and a pair across agencies is a link). It runs on DuckDB through the store's own
connection (``store.connection``). The definition is Python (``SettingsCreator`` and Splink's
comparison library, with SQL written for DuckDB and marked so Splink can translate it), so the
same model can be built on Splink's Spark backend.

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
import splink.comparison_level_library as cll
import splink.comparison_library as cl

from core.config import load_config
from core.errors import IntelError
from core.store import Store
from linkage import features as F

log = logging.getLogger(__name__)

SPLINK_VERSION = splink.__version__
RETRAIN_HINT = "run `intel link --retrain` to train a new model on the current mentions"


# --- the model definition -------------------------------------------------------------------

def _duck(sql: str, label: str) -> cll.CustomLevel:
    """A custom level written in DuckDB SQL (Splink translates it for other backends)."""
    return cll.CustomLevel(sql, label_for_charts=label, base_dialect_str="duckdb")


# Titles recorded in the forename field (historical_50k has about 1,900: "sir", "lady", "mrs" ...).
TITLES = ("mr", "mrs", "ms", "miss", "mx", "dr", "sir", "dame", "lady", "lord", "rev", "revd", "reverend",
          "fr", "prof", "professor", "capt", "captain", "col", "colonel", "gen", "general", "admiral", "adm",
          "lt", "sgt", "hon", "baron", "baroness", "countess", "duke", "duchess", "canon", "bishop")

TWIN_WEIGHT = -30.0   # default match weight of the twin level (log2 Bayes factor): [linkage] twin_weight
TWIN_U = 1e-4         # its u probability (fixed; only the ratio m/u matters)
GENERATION_M = 1e-5   # default m of "dob more than 15 years apart": [linkage] generation_m


def _twin_level(weight: float) -> list[Any]:
    """Twins: a clearly different forename (not an alias, Jaro-Winkler < 0.80) with the same surname
    and dob. Fellegi-Sunter's independence assumption fails here (every other field agrees), so
    this level is not learnt: its weight is fixed, strong enough to keep twins apart. The price:
    a true match whose forename was replaced outright (FEBRL does this) is kept apart too.
    ``weight`` 0 leaves the level out."""
    if not weight:
        return []
    # a title in the forename field ("sir", "mrs") is no forename, so no evidence of a twin
    not_title = " AND ".join(f"forename_{s} NOT IN ({', '.join(repr(t) for t in TITLES)})" for s in "lr")
    return [_duck("dob_l = dob_r AND surname_l = surname_r AND length(forename_l) > 1 AND length(forename_r) > 1 "
                  f"AND {not_title}",
                  "different forename, same surname and dob (twin)").configure(
        m_probability=TWIN_U * 2.0 ** weight, u_probability=TWIN_U,
        fix_m_probability=True, fix_u_probability=True)]


def comparisons(twin_weight: float | None = None) -> list[Any]:
    cfg = load_config().get("linkage", {})
    if twin_weight is None:
        twin_weight = float(cfg.get("twin_weight", TWIN_WEIGHT))
    generation_m = float(cfg.get("generation_m", GENERATION_M))
    forename = cl.CustomComparison(
        output_column_name="forename",
        comparison_description="forename",
        comparison_levels=[
            cll.NullLevel("forename"),
            cll.ExactMatchLevel("forename", term_frequency_adjustments=True).configure(
                label_for_charts="exact"),
            # symmetric by construction (Splink's ColumnsReversedLevel is one-directional by default,
            # which would make a pair's score depend on which side it is on)
            _duck("forename_l = surname_r OR forename_r = surname_l", "equals the other's surname (swapped)"),
            cll.ArrayIntersectLevel("forename_aliases", 1).configure(label_for_charts="nickname or alias"),
            # an initial for a name ("w" / "william") is consistent; two different names with one
            # initial ("walter" / "william", the "same initial" level below) are evidence against
            _duck("(length(forename_l) = 1 OR length(forename_r) = 1) AND left(forename_l, 1) = left(forename_r, 1)",
                  "one is the other's initial"),
            cll.JaroWinklerLevel("forename", 0.92).configure(label_for_charts="jaro-winkler >= 0.92"),
            cll.JaroWinklerLevel("forename", 0.80).configure(label_for_charts="jaro-winkler >= 0.80"),
            *_twin_level(twin_weight),
            _duck("left(forename_l, 1) = left(forename_r, 1)", "same initial"),
            cll.ElseLevel(),
        ],
    )
    surname = cl.CustomComparison(
        output_column_name="surname",
        comparison_description="surname",
        comparison_levels=[
            cll.NullLevel("surname"),
            cll.ExactMatchLevel("surname", term_frequency_adjustments=True).configure(label_for_charts="exact"),
            _duck("jaro_winkler_similarity(surname_l, forename_r) >= 0.92 "
                  "OR jaro_winkler_similarity(forename_l, surname_r) >= 0.92", "matches the other's forename (swapped)"),
            cll.ArrayIntersectLevel("surname_parts", 1).configure(
                label_for_charts="shares a hyphenated part"),
            cll.JaroWinklerLevel("surname", 0.92).configure(label_for_charts="jaro-winkler >= 0.92"),
            cll.JaroWinklerLevel("surname", 0.80).configure(label_for_charts="jaro-winkler >= 0.80"),
            cll.ElseLevel(),
        ],
    )
    dob = cl.CustomComparison(
        output_column_name="dob",
        comparison_description="date of birth",
        comparison_levels=[
            cll.NullLevel("dob"),
            cll.ExactMatchLevel("dob", term_frequency_adjustments=True).configure(label_for_charts="exact"),
            _duck("dob_year_l = dob_year_r AND dob_month_l = dob_day_r AND dob_day_l = dob_month_r",
                  "day and month swapped"),
            _duck("(CAST(dob_year_l = dob_year_r AS INTEGER) + CAST(dob_month_l = dob_month_r AS INTEGER)"
                  " + CAST(dob_day_l = dob_day_r AS INTEGER)) = 2", "one part off"),
            _duck("dob_year_l = dob_year_r", "year only"),
            _duck("abs(dob_year_l - dob_year_r) <= 5", "within 5 years"),
            # A generation apart: parent and child of one name at one address. EM blocked on names
            # takes such pairs for matches and learns an m near 1%, which merges junior with senior;
            # m is fixed small instead ([linkage] generation_m).
            _duck("abs(dob_year_l - dob_year_r) > 15", "more than 15 years apart (a generation)").configure(
                m_probability=generation_m, fix_m_probability=True),
            cll.ElseLevel().configure(label_for_charts="6 to 15 years apart"),
        ],
    )
    sex = cl.CustomComparison(
        output_column_name="sex",
        comparison_description="sex",
        comparison_levels=[cll.NullLevel("sex"), cll.ExactMatchLevel("sex").configure(label_for_charts="exact"),
                           cll.ElseLevel()],
    )
    postcode = cl.CustomComparison(
        output_column_name="postcode",
        comparison_description="postcode",
        comparison_levels=[
            cll.NullLevel("postcode"),
            cll.ExactMatchLevel("postcode", term_frequency_adjustments=True).configure(label_for_charts="full"),
            cll.ExactMatchLevel("postcode_sector").configure(label_for_charts="sector"),
            cll.ExactMatchLevel("postcode_district").configure(label_for_charts="district"),
            # one character different, or two adjacent ones swapped (2190 / 2910)
            cll.DamerauLevenshteinLevel("postcode", 1).configure(label_for_charts="one character different or swapped"),
            cll.ElseLevel(),
        ],
    )
    address = cl.CustomComparison(
        output_column_name="address",
        comparison_description="address or UPRN",
        comparison_levels=[
            _duck("(address_l IS NULL OR address_r IS NULL) AND (uprn_l IS NULL OR uprn_r IS NULL)",
                  "address missing").configure(is_null_level=True),
            _duck("uprn_l = uprn_r", "same UPRN"),
            _duck("address_l = address_r", "same address").configure(
                tf_adjustment_column="address", tf_adjustment_weight=1.0),
            _duck("address_number_l = address_number_r AND len(list_intersect(address_tokens_l, address_tokens_r)) >= "
                  "0.6 * greatest(len(address_tokens_l), len(address_tokens_r))",
                  "same house number, most address words shared"),
            # Typed addresses: most words match allowing a typo (Jaro-Winkler >= 0.88 between words), the
            # house number the same or missing on a side (a different number is a neighbour).
            _duck("(address_number_l = address_number_r OR address_number_l IS NULL OR address_number_r IS NULL) "
                  "AND len(list_filter(address_tokens_l, lambda x: list_bool_or(list_transform(address_tokens_r, "
                  "lambda y: jaro_winkler_similarity(x, y) >= 0.88)))) "
                  ">= 0.6 * greatest(len(address_tokens_l), len(address_tokens_r))",
                  "house number not different, most words alike"),
            cll.JaroWinklerLevel("address", 0.9).configure(label_for_charts="jaro-winkler >= 0.90"),
            cll.ElseLevel(),
        ],
    )
    person_ref = cl.CustomComparison(
        output_column_name="person_ref",
        comparison_description="the agency's own person id",
        comparison_levels=[
            _duck("person_ref_l IS NULL OR person_ref_r IS NULL OR source_l <> source_r",
                  "not comparable (missing, or different agencies)").configure(is_null_level=True),
            _duck("person_ref_l = person_ref_r", "same agency, same person id"),
            cll.ElseLevel().configure(label_for_charts="same agency, different person id"),
        ],
    )
    return [forename, surname, dob, sex, postcode, address, person_ref]


# Blocking for prediction, chosen for recall (docs/bench-linkage.md has their comparison counts).
# dobs sharing their year, month or day (at least one part right; both present)
_DOB_PART = "(l.dob_year = r.dob_year OR l.dob_month = r.dob_month OR l.dob_day = r.dob_day)"

BLOCKING_RULES = [
    # Each rule is an equi-join on keys that stay selective at 1M mentions (a name alone, or a
    # surname with a birth year, makes blocks that grow with the square of the data).
    # same (canonical) names in either order (exact, nickname, swapped) and the same birth year
    "l.name_key = r.name_key AND l.dob_year = r.dob_year",
    # same (canonical) names, same postcode district: dob wrong or missing
    "l.name_key = r.name_key AND l.postcode_district = r.postcode_district",
    # same (canonical) names, same day and month of birth: year wrong
    "l.name_key = r.name_key AND l.dob_month = r.dob_month AND l.dob_day = r.dob_day",
    # same dob and the same initials (either order): typos in both names
    "l.dob = r.dob AND l.initials_key = r.initials_key",
    # same forename and dob: surname changed
    "l.forename_canon = r.forename_canon AND l.dob = r.dob",
    # same surname and dob: forename replaced (or a twin, which the model then keeps apart)
    "l.surname = r.surname AND l.dob = r.dob",
    # surname, birth year and forename initial: forename typos or unknown nicknames, day/month errors
    "l.surname = r.surname AND l.dob_year = r.dob_year AND left(l.forename_canon, 1) = left(r.forename_canon, 1)",
    # forename, birth year and surname initial: surname typos, day/month errors
    "l.forename_canon = r.forename_canon AND l.dob_year = r.dob_year AND left(l.surname, 1) = left(r.surname, 1)",
    # same postcode and forename: both dob and surname wrong or missing
    "l.postcode = r.postcode AND l.forename_canon = r.forename_canon",
    # same postcode and dob / birth year: both names wrong
    "l.postcode = r.postcode AND l.dob_year = r.dob_year",
    # same address with the same names, or one name and the other's initial: dob wrong or missing
    # (an address is a household, so these blocks stay small)
    "l.name_key = r.name_key AND l.address = r.address",
    "l.forename_canon = r.forename_canon AND l.address = r.address AND left(l.surname, 1) = left(r.surname, 1)",
    "l.surname = r.surname AND l.address = r.address AND left(l.forename_canon, 1) = left(r.forename_canon, 1)",
    # the house number with the dob and an initial, or with the same names (either order) and the
    # postcode's first two characters: names, or dob and postcode, corrupted. A house number is
    # a small range of values: with the dob alone or the names alone these grew with the square of
    # the data (1.8M and 3.4M more comparisons at 1M mentions), so each carries a further key.
    "l.dob = r.dob AND l.address_number = r.address_number AND left(l.forename_canon, 1) = left(r.forename_canon, 1)",
    "l.dob = r.dob AND l.address_number = r.address_number AND left(l.surname, 1) = left(r.surname, 1)",
    "l.name_key = r.name_key AND l.address_number = r.address_number AND left(l.postcode, 2) = left(r.postcode, 2)",
    # one household (surname and postcode) with the forename initial and a dob sharing a part:
    # forename typo with the dob partly wrong. Household members share the surname and postcode, so
    # the initial and the dob part keep most siblings out of the block: without the dob part (or
    # with "dob missing" allowed) the model links siblings of similar forenames and the world's
    # precision falls (docs/bench-linkage.md); postcode + house number alone adds every household.
    "l.surname = r.surname AND l.postcode = r.postcode "
    "AND left(l.forename_canon, 1) = left(r.forename_canon, 1) AND " + _DOB_PART,
    # one home (postcode and house number) and the forename initial, with nothing else required:
    # both names' other parts and the dob wrong or missing (FEBRL4: 39 more true pairs blocked, 27
    # more linked at 0.999). The forename initial is required, not "forename or surname initial": with the
    # surname initial a record with no forename and no dob was compared with its whole household,
    # scored >= 0.999 on surname + address + postcode alone, and tied two siblings together in the
    # world (3 false merges). A household is bounded in size, so these blocks do not grow with the data.
    "l.postcode = r.postcode AND l.address_number = r.address_number "
    "AND left(l.forename_canon, 1) = left(r.forename_canon, 1)",
    # the agency's own person id within one agency
    "l.source = r.source AND l.person_ref = r.person_ref",
]

# Pairs these rules find are taken as matches when estimating the prior.
PRIOR_RULES = [
    "l.forename = r.forename AND l.surname = r.surname AND l.dob = r.dob",
]
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


def settings_creator(twin_weight: float | None = None) -> SettingsCreator:
    return SettingsCreator(
        link_type="link_and_dedupe",
        unique_id_column_name="mention_id",
        comparisons=comparisons(twin_weight),
        blocking_rules_to_generate_predictions=list(BLOCKING_RULES),
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


def linkage_config(store: Store | None = None) -> dict[str, Any]:
    cfg = {"edge_floor": 0.01, "prior_recall": "estimate", "u_max_pairs": 2_000_000, "u_seed": 42,
           "em_max_pairs": 1_000_000, "twin_weight": TWIN_WEIGHT}
    cfg.update(load_config().get("linkage", {}))
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


def train(store: Store) -> LinkageModel:
    """Train a new model on the current mentions and save it in ``linkage_models``."""
    cfg = linkage_config(store)
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    with SplinkSession(store, settings_creator(), ordered=True) as s:
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
        for name, rule in EM_SESSIONS:
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
    from splink.internals.settings_creator import SettingsCreator as _SC
    try:
        _SC.from_path_or_dict(settings).get_settings("duckdb")
    except Exception as exc:  # Splink raises many types for a bad settings dict
        raise ValueError(f"Splink cannot read it: {type(exc).__name__}: {str(exc)[:300]}") from exc


def load_or_train(store: Store, retrain: bool = False) -> LinkageModel:
    """The newest saved model, or a new one trained now (and saved) if there is none or
    ``retrain`` is asked for."""
    if not retrain:
        model = latest_model(store)
        if model is not None:
            return model
    return train(store)


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
