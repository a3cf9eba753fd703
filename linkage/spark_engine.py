"""The Spark link engine: the same model's scoring on Splink's Spark backend.

``SparkEngine(config)`` has the link engine's interface (``load_or_train``, ``score_all``,
``score_mentions``; ``linkage.run.link`` calls them). Only the scoring moves to Spark:

1. the features are built in DuckDB exactly as the DuckDB engine builds them
   (``linkage.features``) and written to Parquet in a work folder;
2. Spark reads them (a full link: all mentions as one input, ``_one_input``; a night: one input
   per agency as in the DuckDB engine), and Splink predicts with the trained model's settings
   (its SQL translated by ``linkage.spark_sql``; m, u, prior and term-frequency adjustments
   unchanged) and the same blocking rules and edge floor;
3. the scored pairs come back as Parquet, are checked complete (Spark's ``_SUCCESS`` marker and
   the row count Spark wrote), and only then replace ``link_edges`` inside the run's transaction.

Training stays on DuckDB (``linkage.model.load_or_train``: sampled pairs, bounded by
``[linkage] u_max_pairs`` and ``em_max_pairs``, so it does not grow with the full pair count), and
so do clustering, cannot-links and stable ids (``linkage.run``): the persons follow from the
edges by the same code whichever engine scored them.

A failure in Spark (a killed JVM, a cancelled job, too little memory) raises ``SparkFailure``
before ``link_edges`` is touched, so the run's transaction rolls back whole; the CLI exits 1.
Bad settings, no Java, a master that does not answer: IntelError from the constructor, before
any work (exit 2).
"""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from splink import Linker

from core.errors import IntelError, NotFound
from core.store import Store
from linkage import features as F
from linkage import model as _model
from linkage.blocked_pairs import (first_rule_sql, keyed_pairs_sql, prediction_rules, register_for_predict,
                                   rule_pairs_sql, union_applies)
from linkage.spark_session import SparkSettings, broadcasts, log, open_session, preflight
from linkage.spark_sql import spark_settings

ENGINES = ("duckdb", "spark")
NOTHING_WRITTEN = "nothing was written: the store is as it was"


# One input's unique id: the key Splink builds for a pair's sides when each agency is its own
# input (the source, '-__-', the mention id), computed once per mention instead of per candidate pair
PAIR_KEY = "source_mention_key"


def _pair_key(feats: Any) -> Any:
    from pyspark.sql import functions as sf

    return sf.concat(feats.source, sf.lit("-__-"), feats.mention_id)


def _one_input(settings: dict[str, Any]) -> dict[str, Any]:
    """The model's settings for all mentions as one input (``dedupe_only``), keyed by PAIR_KEY.

    The pairs are the same as with one input per agency (every pair of mentions once, the same
    blocking rules), and so is each pair's orientation (which mention is ``_l``: the smaller key,
    as Splink orders agency inputs), which matters because a level may be asymmetric (the address
    words' share is counted from the left side). What changes is Spark's work: the features are
    scanned once per side of each blocking rule, not once per agency, and a pair's sides are
    compared and joined on a stored key instead of one concatenated for every candidate pair
    (measured in docs/scale.md)."""
    out = dict(settings)
    out["link_type"] = "dedupe_only"
    out["unique_id_column_name"] = PAIR_KEY
    out["additional_columns_to_retain"] = [*out.get("additional_columns_to_retain", []), "mention_id"]
    return out


class SparkFailure(RuntimeError):
    """Spark failed midway (not the input's fault); the store is unchanged. CLI exit 1."""


def engine_name(config: dict[str, Any] | None, override: str | None = None) -> str:
    name = override if override is not None else ((config or {}).get("linkage") or {}).get("engine", "duckdb")
    if name not in ENGINES:
        where = "--engine" if override is not None else "config [linkage] engine"
        raise IntelError(f"{where} must be one of {', '.join(ENGINES)}, got {name!r}")
    return name


def engine_from_config(config: dict[str, Any] | None, override: str | None = None) -> SparkEngine | None:
    """The engine the configuration (or ``override``) names: None for DuckDB (linkage.run's
    default), a checked SparkEngine for Spark."""
    return SparkEngine(config or {}) if engine_name(config, override) == "spark" else None


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and those it was raised from or during (Splink wraps py4j's errors)."""
    seen: list[BaseException] = []
    while exc is not None and exc not in seen:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


def _failure(exc: BaseException, master: str) -> SparkFailure:
    first = f"{type(exc).__name__}: {exc}".strip().splitlines()[0][:300]
    text = "\n".join(f"{type(e).__name__}: {e}" for e in _chain(exc))
    if "OutOfMemoryError" in text or "Java heap space" in text or "GC overhead limit" in text:
        why = ("Spark ran out of memory; raise [spark] driver_memory (local mode: the whole job runs in the "
               "driver) or executor_memory, or shuffle_partitions")
    elif "cancelled" in text.lower() or "SparkContext was shut down" in text or "stopped SparkContext" in text:
        why = "the Spark job was cancelled or its context shut down midway"
    elif any(s in text for s in ("Py4JNetworkError", "Answer from Java side is empty", "Connection refused",
                                 "ConnectionResetError", "Py4JError", "JAVA_GATEWAY")):
        why = "the Spark JVM stopped answering midway (killed, or out of memory)"
    else:
        why = "the Spark job failed"
    return SparkFailure(f"{why} (master {master}): {first}; {NOTHING_WRITTEN}")


class SparkEngine:
    """Scores on Spark; everything else as the DuckDB engine. ``spark``: a session to use (and
    leave running), e.g. a test's; by default one is started per scoring call and stopped after."""

    name = "spark"

    def __init__(self, config: dict[str, Any], *, spark: Any = None) -> None:
        self.config = config
        self.settings = SparkSettings.from_config(config)
        floor = _model.linkage_config(config)["edge_floor"]
        if not isinstance(floor, (int, float)) or isinstance(floor, bool) or not 0 <= floor < 1:
            raise IntelError(f"config [linkage] edge_floor must be a number in [0, 1), got {floor!r}")
        self.floor = float(floor)
        self._spark = spark
        self._blocked_pairs = "splink"   # how the last full link made its pairs (linkage/blocked_pairs.py)
        self._blocking_s = 0.0           # and how long that took (part of predict)
        if spark is None:
            preflight(self.settings)

    # -- the engine interface --------------------------------------------------------------------

    # the one-to-one residual pass (linkage/one_to_one.py) may score with the same Splink model
    scores_with_the_model = True

    def load_or_train(self, store: Store, config: Any, retrain: bool = False) -> _model.LinkageModel:
        """The DuckDB engine's model (training samples pairs; it stays on DuckDB)."""
        return _model.load_or_train(store, config, retrain=retrain)

    def score_all(self, store: Store, model: _model.LinkageModel, config: Any = None) -> dict[str, Any]:
        """Predict over all mentions on Spark and replace ``link_edges`` with every pair at or
        above the floor."""
        t0 = time.perf_counter()
        scored_at = _now()
        with self._work() as work:
            n = self._export(store, work / "features.parquet")
            t_export = time.perf_counter() - t0
            with self._session(work) as (spark, t_session):
                t = time.perf_counter()
                rows = self._predict(spark, model, work, lambda linker, work: [
                    linker.inference.predict(threshold_match_probability=self.floor, warning_mode="never")],
                    one_input=True)
                t_predict = time.perf_counter() - t
            t = time.perf_counter()
            edges = self._import(store, work / "edges", rows, model, scored_at, delete="DELETE FROM link_edges")
        report = self._report(model, n, edges, scored_at, t0, export=t_export, session=t_session,
                              blocking=self._blocking_s, predict=t_predict, write=time.perf_counter() - t)
        return {**report, "blocked_pairs": self._blocked_pairs}

    def score_mentions(self, store: Store, model: _model.LinkageModel, mention_ids: Sequence[str],
                       config: Any = None) -> dict[str, Any]:
        """Re-score the given mentions on Spark: against all others (``predict_between``) and
        among themselves (``predict_within``), term frequencies over all mentions, as
        linkage.scoring.score_mentions does on DuckDB."""
        ids = sorted(set(mention_ids))
        t0 = time.perf_counter()
        scored_at = _now()
        if not ids:
            return {"engine": self.name, "model_id": model.model_id, "mentions": 0, "edges": 0,
                    "edge_floor": self.floor, "scored_at": scored_at, "seconds": {"total": 0.0}}
        F.ids_table(store, "_spark_ids", ids)
        try:
            missing = F.sql(store, "SELECT i.mention_id FROM _spark_ids i ANTI JOIN mentions m "
                                   "USING (mention_id) ORDER BY 1 LIMIT 5")
            if missing:
                raise NotFound("no such mention(s): " + ", ".join(r[0] for r in missing))
            with self._work() as work:
                self._export(store, work / "features.parquet")
                F.sql(store, f"COPY _spark_ids TO '{work / 'new_ids.parquet'}' (FORMAT parquet)")
                t_export = time.perf_counter() - t0
                with self._session(work) as (spark, t_session):
                    t = time.perf_counter()
                    rows = self._predict(spark, model, work, self._between_and_within)
                    t_predict = time.perf_counter() - t
                t = time.perf_counter()
                touching = ("DELETE FROM link_edges WHERE mention_a IN (SELECT mention_id FROM _spark_ids) "
                            "OR mention_b IN (SELECT mention_id FROM _spark_ids)")
                self._import(store, work / "edges", rows, model, scored_at, delete=touching)
                edges = int(F.scalar(store, "SELECT count(*) FROM link_edges WHERE mention_a IN "
                                            "(SELECT mention_id FROM _spark_ids) OR mention_b IN "
                                            "(SELECT mention_id FROM _spark_ids)"))
        finally:
            F.drop_temp(store, ["_spark_ids"])
        return self._report(model, len(ids), edges, scored_at, t0, export=t_export, session=t_session,
                            predict=t_predict, write=time.perf_counter() - t)

    # -- the steps -------------------------------------------------------------------------------

    @contextmanager
    def _work(self) -> Iterator[Path]:
        """A private work folder for one scoring call (the export, Spark's output and, unless
        configured, its checkpoints), removed afterwards whatever happens."""
        base = self.settings.work_dir or None
        work = Path(tempfile.mkdtemp(prefix="intel-spark-", dir=base))
        try:
            yield work
        finally:
            shutil.rmtree(work, ignore_errors=True)

    @contextmanager
    def _session(self, work: Path) -> Iterator[tuple[Any, float]]:
        t = time.perf_counter()
        checkpoint = (f"{self.settings.checkpoint_dir.rstrip('/')}/{work.name}" if self.settings.checkpoint_dir
                      else str(work / "checkpoints"))
        if self._spark is not None:
            self._spark.sparkContext.setCheckpointDir(checkpoint)
            yield self._spark, 0.0
            return
        log(f"starting Spark on {self.settings.master} ({self.settings.partitions} shuffle partitions)")
        spark = open_session(self.settings, checkpoint)
        try:
            yield spark, time.perf_counter() - t
        finally:
            try:
                spark.stop()
            except Exception:  # noqa: BLE001 - the JVM is gone (killed): the failure is already raised
                pass
            if self.settings.checkpoint_dir and "://" not in checkpoint:
                shutil.rmtree(checkpoint, ignore_errors=True)

    def _export(self, store: Store, path: Path) -> int:
        n = F.build_features(store, F.FEATURES_TABLE)
        if not n:
            raise IntelError("there are no mentions to link: ingest a drop first (`intel ingest DROP`)")
        F.sql(store, f"COPY {F.FEATURES_TABLE} TO '{path}' (FORMAT parquet)")
        self._list_columns = [r[0] for r in F.sql(store, f"DESCRIBE {F.FEATURES_TABLE}") if str(r[1]).endswith("[]")]
        log(f"{n:,} mentions exported for Spark")
        return n

    def _predict(self, spark: Any, model: _model.LinkageModel, work: Path, run: Any, *,
                 one_input: bool = False) -> int:
        """Splink on Spark over the exported features; ``run(linker, work)`` returns the
        prediction frames, written to ``work/edges``. Returns the row count Spark wrote.

        ``one_input``: all mentions as one input instead of one per agency (see _one_input)."""
        settings = spark_settings(model.settings, self._list_columns)   # IntelError: untranslatable model
        if one_input:
            settings = _one_input(settings)
        tag = uuid.uuid4().hex[:8]
        views: list[str] = []
        feats = None
        try:
            from splink.backends.spark import SparkAPI   # optional: needs pyspark (the spark extra)

            # read once, kept (memory, spilling to disk): Splink's SQL names the input in every
            # blocking rule's join, both sides, and Spark would otherwise scan the files each time
            feats = spark.read.parquet(str(work / "features.parquet")).persist()
            feats.count()
            api = SparkAPI(spark_session=spark, break_lineage_method=self.settings.break_lineage,
                           num_partitions_on_repartition=self.settings.partitions)
            inputs = []
            if one_input:
                view = f"intel_features_{tag}"
                feats.withColumn(PAIR_KEY, _pair_key(feats)).createOrReplaceTempView(view)
                views.append(view)
                inputs.append(api.register(view, dataset_display_name="mentions"))
            for source in F.SOURCES if not one_input else ():   # every agency, empty where absent
                view = f"intel_features_{source}_{tag}"
                feats.where(feats.source == source).createOrReplaceTempView(view)
                views.append(view)
                inputs.append(api.register(view, dataset_display_name=source))
            linker = Linker(inputs, settings)
            self._api, self._views, self._tag, self._feats = api, views, tag, feats
            self._blocked_pairs, self._blocking_s = "splink", 0.0
            union_pairs = one_input and union_applies(linker)
            out = str(work / "edges")
            # with the union, no query of Splink's joins 19 tables at once (the reason for the
            # local broadcast limit): each join may broadcast a quarter of the driver's memory
            with broadcasts(spark, self.settings, 4 if union_pairs else 0):
                if union_pairs:
                    t = time.perf_counter()
                    self._register_union_pairs(linker, work, view)
                    self._blocked_pairs, self._blocking_s = "union", time.perf_counter() - t
                log("predicting (blocking, comparisons, scores)")
                parts = run(linker, work)
                frames = [p.as_spark_dataframe().select("mention_id_l", "mention_id_r", "match_probability",
                                                        "match_weight") for p in parts]
                union = frames[0]
                for f in frames[1:]:
                    union = union.unionByName(f)
                union.write.mode("overwrite").parquet(out)
            rows = spark.read.parquet(out).count()
            log(f"{rows:,} scored pairs at or above {self.floor:g} back from Spark")
            return rows
        except IntelError:
            raise
        except Exception as exc:
            raise _failure(exc, self.settings.master) from exc
        finally:
            try:
                for view in views:
                    spark.catalog.dropTempView(view)
                if feats is not None:
                    feats.unpersist()
            except Exception:  # the JVM may be gone; nothing of ours is left in the store
                pass

    def _register_union_pairs(self, linker: Any, work: Path, view: str) -> None:
        """A full link's blocked pairs as one union of the rules (linkage/blocked_pairs.py: the same
        pairs as Splink's rule-by-rule exclusions, at a fraction of the work), registered for
        Splink's predict. Each rule's join is its own Spark job, appended to Parquet, so one
        join's table is alive at a time (in one query all 19 would be). Then each pair once,
        written once and read back, so Splink's scoring reads it instead of computing it again."""
        spark, raw, path = self._api.spark, str(work / "candidate_pairs"), str(work / "blocked_pairs")
        log("blocking (each rule's pairs, then each pair once)")
        for i, br in enumerate(prediction_rules(linker)):
            spark.sql(rule_pairs_sql(i, br.blocking_rule_sql, view, PAIR_KEY)).write \
                .mode("append" if i else "overwrite").parquet(raw)
        candidates = f"intel_candidate_pairs_{self._tag}"
        spark.read.parquet(raw).createOrReplaceTempView(candidates)
        self._views.append(candidates)
        spark.sql(keyed_pairs_sql(f"({first_rule_sql(candidates)})")).write.mode("overwrite").parquet(path)
        pairs = f"intel_blocked_pairs_{self._tag}"
        spark.read.parquet(path).createOrReplaceTempView(pairs)
        self._views.append(pairs)
        register_for_predict(linker, self._api.register(pairs))

    def _between_and_within(self, linker: Any, work: Path) -> list[Any]:
        for tf_col in linker._settings_obj._term_frequency_columns:   # over ALL mentions
            linker.table_management.compute_tf_table(tf_col.name)
        spark, feats, tag = self._api.spark, self._feats, self._tag
        new_ids = spark.read.parquet(str(work / "new_ids.parquet"))
        new = feats.join(new_ids, "mention_id", "left_semi")
        old = feats.join(new_ids, "mention_id", "left_anti")
        new_in, old_in = [], []
        for source in F.SOURCES:
            for frame, kind, bucket in ((new, "new", new_in), (old, "old", old_in)):
                view = f"intel_{kind}_{source}_{tag}"
                frame.where(frame.source == source).createOrReplaceTempView(view)
                self._views.append(view)
                # the same display names as the full inputs, so source_dataset values agree
                bucket.append(self._api.register(view, dataset_display_name=source, table_name=f"{kind}_{source}_{tag}"))
        return [linker.inference.predict_between(old_in, new_in, threshold_match_probability=self.floor,
                                                 warning_mode="never"),
                linker.inference.predict_within(new_in, threshold_match_probability=self.floor,
                                                warning_mode="never")]

    def _import(self, store: Store, path: Path, rows: int, model: _model.LinkageModel, scored_at: datetime,
                *, delete: str) -> int:
        """Spark's pairs into ``link_edges`` (``delete`` first), only if complete."""
        if not (path / "_SUCCESS").exists():
            raise SparkFailure(f"Spark's output in {path} has no _SUCCESS marker (the job did not finish); "
                               f"{NOTHING_WRITTEN}")
        files = f"read_parquet('{path}/*.parquet')"
        got = int(F.scalar(store, f"SELECT count(*) FROM {files}"))
        if got != rows:
            raise SparkFailure(f"Spark wrote {rows} scored pairs but {got} could be read back from {path}; "
                               f"{NOTHING_WRITTEN}")
        with store.transaction():
            F.sql(store, delete)
            F.sql(store, "INSERT INTO link_edges SELECT least(mention_id_l, mention_id_r), "
                         "greatest(mention_id_l, mention_id_r), match_probability, match_weight, ?, ? "
                         f"FROM {files} WHERE match_probability >= ?", [model.model_id, scored_at, self.floor])
        return got

    def _report(self, model: _model.LinkageModel, n: int, edges: int, scored_at: datetime, t0: float,
                **seconds: float) -> dict[str, Any]:
        return {"engine": self.name, "master": self.settings.master, "model_id": model.model_id,
                "mentions": n, "edges": edges, "edge_floor": self.floor, "scored_at": scored_at,
                "seconds": {**{k: round(v, 3) for k, v in seconds.items()},
                            "total": round(time.perf_counter() - t0, 3)}}
