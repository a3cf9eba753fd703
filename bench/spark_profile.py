"""Profile: where the Spark engine's time goes, one full scoring of a store, variant by variant.

    flock /tmp/bench.lock python3 bench/spark_profile.py --db STORE.duckdb [--driver-memory 8g]
          [--variant NAME=JSON ...]

Each variant is the Spark engine's ``score_all`` on a fresh copy of ``--db`` (a store with a
trained model, as bench/spark.py prepares), one after the other, with the
``[spark]`` settings changed by its JSON (``{"conf": {"spark.sql.shuffle.partitions": "8"}}``,
``{"break_lineage": "persist"}``; ``"src"``: another checkout to run, for a code change's
before and after), each in its own process (so its own JVM). "base" (no change) is run first
unless named or ``--no-base``; ``--jfr DIR`` records each JVM with Java Flight Recorder and
says where its CPU samples fall. For each:
the engine's own split (export, session, predict, write-back), each Splink step's time (the
moment Splink breaks lineage after a templated table: its action runs there), Spark's analysis
of each SQL statement, the executors' run, CPU and GC time summed per Splink step (from Spark's
status store), the JVM's total GC time, and the scored pairs (a digest of the rounded scores,
so that variants that must not change the result can be compared). One JSON object per line.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from copy import deepcopy
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.config import load_config  # noqa: E402
from core.store import Store  # noqa: E402


def out(obj: dict) -> None:
    print(json.dumps(obj, default=str), flush=True)


class StepClock:
    """Times Splink's steps on Spark by wrapping SparkAPI's two hooks around each statement."""

    def __init__(self) -> None:
        from splink.internals.spark.database_api import SparkAPI

        self.api = SparkAPI
        self.steps: list[dict] = []
        self.analyse = defaultdict(float)
        self._orig = (SparkAPI._execute_sql_against_backend, SparkAPI._cleanup_for_execute_sql)
        clock = self

        def execute(api, sql):
            t = time.perf_counter()
            try:
                return clock._orig[0](api, sql)
            finally:
                clock.analyse["spark.sql (analysis)"] += time.perf_counter() - t

        def cleanup(api, table, templated_name, physical_name):
            sc = api.spark.sparkContext
            sc.setJobDescription(templated_name)
            t = time.perf_counter()
            try:
                return clock._orig[1](api, table, templated_name, physical_name)
            finally:
                clock.steps.append({"step": templated_name, "s": round(time.perf_counter() - t, 2)})
                sc.setJobDescription(None)

        SparkAPI._execute_sql_against_backend = execute
        SparkAPI._cleanup_for_execute_sql = cleanup

    def close(self) -> None:
        self.api._execute_sql_against_backend, self.api._cleanup_for_execute_sql = self._orig


def _items(seq) -> list:
    """A Scala Seq's items (py4j has no iterator for it)."""
    return [seq.apply(i) for i in range(seq.size())]


def stage_totals(spark) -> dict:
    """Executor run, CPU and GC seconds and task counts, summed per job description (Splink's
    step; the engine's own jobs have none)."""
    sc = spark.sparkContext
    store = sc._jsc.sc().statusStore()
    totals: dict = defaultdict(lambda: defaultdict(float))
    desc_of_stage = {}
    for j in _items(store.jobsList(None)):
        d = j.description()
        desc = d.get() if d.isDefined() else "(engine)"
        ids = j.stageIds()
        for k in range(ids.size()):
            desc_of_stage[int(ids.apply(k))] = desc
    for stage_id, desc in desc_of_stage.items():
        try:
            s = store.lastStageAttempt(stage_id)
        except Exception:  # noqa: BLE001 - a stage skipped (its shuffle reused) has no attempt
            continue
        t = totals[desc]
        t["stages"] += 1
        t["tasks"] += s.numTasks()
        t["run_s"] += s.executorRunTime() / 1e3
        t["cpu_s"] += s.executorCpuTime() / 1e9
        t["gc_s"] += s.jvmGcTime() / 1e3
        t["shuffle_write_mb"] += s.shuffleWriteBytes() / 2**20
        t["spill_mb"] += s.diskBytesSpilled() / 2**20
    return {k: {m: round(v, 1) for m, v in t.items()} for k, t in totals.items()}


def jvm_gc_seconds(spark) -> float:
    beans = spark.sparkContext._jvm.java.lang.management.ManagementFactory.getGarbageCollectorMXBeans()
    return round(sum(beans.get(i).getCollectionTime() for i in range(beans.size())) / 1e3, 1)


# What a JFR sample is doing: the kind of the frame nearest the top of its stack that has one
JFR_KINDS = (
    ("jaro-winkler (Splink's jar)", "uk.gov.moj.dash.linkage"),
    ("higher-order functions (lambdas)", "HigherOrderFunction|ArrayFilter|ArrayExists|ArrayTransform|LambdaFunction"),
    ("codegen: compile", "janino|codehaus|CodeGenerator"),
    ("broadcast: build hash relation", "HashedRelation|BroadcastExchangeExec|TorrentBroadcast"),
    ("parquet write", "parquet.hadoop|ParquetWriter|parquet.column|FileFormatWriter|FileFormatDataWriter"),
    ("parquet read", "VectorizedParquet|ParquetFileFormat|parquet.hadoop.ParquetFileReader"),
    ("shuffle write / sort", "ShuffleWriter|UnsafeExternalSorter|ShuffleExternalSorter|UnsafeShuffleWriter|SortExec"),
    ("shuffle read", "ShuffleBlockFetcher|BlockStoreShuffleReader"),
    ("in-memory columnar cache", "columnar|InMemoryRelation|InMemoryTableScan"),
    ("analysis / optimiser / planning", "catalyst.analysis|catalyst.optimizer|execution.SparkStrategies|QueryPlanner|QueryExecution"),
    ("generated code (joins, filters, projections)", "GeneratedClass|GeneratedIterator|BufferedRowIterator"),
    ("UTF8String / strings", "UTF8String"),
    ("compression", "zstd|snappy|lz4|xerial|Zstd"),
)


def jfr_summary(path: Path, top: int = 25) -> dict:
    """Where a JFR recording's CPU samples fall: by kind (JFR_KINDS), by thread kind, and the
    hottest methods (self time)."""
    import re

    text = subprocess.run(["jfr", "print", "--events", "jdk.ExecutionSample", "--stack-depth", "64", str(path)],
                          capture_output=True, text=True, check=True).stdout
    kinds: dict = defaultdict(int)
    threads: dict = defaultdict(int)
    methods: dict = defaultdict(int)
    n = 0
    for event in text.split("jdk.ExecutionSample")[1:]:
        m = re.search(r'sampledThread = "([^"]*)"', event)
        thread = re.sub(r"\d+", "#", m.group(1)) if m else "?"
        frames = re.findall(r"^\s+([\w$.<>/]+)\(", event, re.MULTILINE)
        if not frames:
            continue
        n += 1
        threads[thread[:60]] += 1
        methods[frames[0]] += 1
        kinds[next((kind for f in frames for kind, pattern in JFR_KINDS if re.search(pattern, f)), "other")] += 1

    def share(d: dict, k: int) -> dict:
        return {key: round(v / n, 3) for key, v in sorted(d.items(), key=lambda kv: -kv[1])[:k]}
    return {"samples": n, "kinds": share(kinds, 30), "threads": share(threads, 10), "methods": share(methods, top)}


def run_variant(name: str, change: dict, db: Path, work: Path, driver_memory: str,
                jfr: Path | None = None) -> dict:
    import linkage.spark_engine as se
    from linkage.model import load_or_train

    cfg = deepcopy(load_config())
    cfg["spark"].update({"driver_memory": driver_memory, "progress": False})
    change = dict(change)
    src = change.pop("src", None)
    conf = change.pop("conf", {})
    cfg["spark"].update(change)
    cfg["spark"]["conf"] = {**cfg["spark"].get("conf", {}), **conf}
    if jfr:
        recording = jfr / f"{name}.jfr"
        opts = cfg["spark"]["conf"].get("spark.driver.extraJavaOptions", "")
        cfg["spark"]["conf"]["spark.driver.extraJavaOptions"] = (
            f"{opts} -XX:StartFlightRecording=filename={recording},settings=profile,dumponexit=true").strip()
    copy = work / f"profile_{name}.duckdb"
    shutil.copy(db, copy)
    seen: dict = {}
    opened = se.open_session

    def keep_session(settings, checkpoint):   # the engine stops its session; read it first
        spark = opened(settings, checkpoint)
        stop = spark.stop

        def stop_after_reading():
            seen["stages"] = stage_totals(spark)
            seen["jvm_gc_s"] = jvm_gc_seconds(spark)
            stop()
        spark.stop = stop_after_reading
        return spark

    se.open_session = keep_session
    clock = StepClock()
    load = os.getloadavg()[0]
    t = time.perf_counter()
    try:
        with Store(copy) as store:
            engine = se.SparkEngine(cfg)
            model = load_or_train(store, cfg)
            rep = engine.score_all(store, model, cfg)
            rows = store.rows("SELECT mention_a, mention_b, round(match_weight, 6) AS w FROM link_edges ORDER BY 1, 2")
    finally:
        clock.close()
        se.open_session = opened
        for f in work.glob(copy.name + "*"):
            f.unlink()
    digest = hashlib.sha256(json.dumps([list(r.values()) for r in rows]).encode()).hexdigest()[:16]
    return {"variant": name, "change": {**change, **({"conf": conf} if conf else {}), **({"src": src} if src else {})},
            "seconds": round(time.perf_counter() - t, 1), "engine_seconds": rep["seconds"],
            "edges": rep["edges"], "edges_digest": digest, "steps": clock.steps,
            "analysis_s": round(sum(clock.analyse.values()), 1), "jvm_gc_s": seen.get("jvm_gc_s"),
            "stages": seen.get("stages"), "load_average": [round(load, 2), round(os.getloadavg()[0], 2)]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--driver-memory", default="8g")
    ap.add_argument("--workdir", default="")
    ap.add_argument("--variant", action="append", default=[], help="NAME=JSON of [spark] changes")
    ap.add_argument("--jfr", default="", help="a folder: record each variant's JVM with Java Flight Recorder")
    ap.add_argument("--no-base", action="store_true")
    ap.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    jfr = Path(args.jfr) if args.jfr else None
    if args.child:
        name, change = args.child.split("=", 1)
        out(run_variant(name, json.loads(change), Path(args.db), Path(args.workdir), args.driver_memory, jfr))
        return
    variants = [v.split("=", 1) for v in args.variant]
    if not args.no_base and not any(n == "base" for n, _ in variants):
        variants.insert(0, ("base", "{}"))
    work = Path(args.workdir or Path(args.db).parent)
    if jfr:
        jfr.mkdir(parents=True, exist_ok=True)
    for name, change in variants:
        # a process (so a JVM) per variant: pyspark keeps its JVM after a session stops, with the
        # first session's JVM options and the JIT's warm code, which would favour later variants
        src = Path(json.loads(change).get("src") or ROOT)   # another checkout's code: a code change's A/B
        cmd = [sys.executable, str(src / "bench" / "spark_profile.py"), "--db", args.db, "--driver-memory", args.driver_memory,
               "--workdir", str(work), "--child", f"{name}={change}"] + (["--jfr", str(jfr)] if jfr else [])
        done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, cwd=src,
                              env={**os.environ, "PYTHONPATH": str(src)})
        lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
        res = json.loads(lines[-1]) if lines else {"variant": name, "exit": done.returncode}
        if jfr and (jfr / f"{name}.jfr").exists():
            res["jfr"] = jfr_summary(jfr / f"{name}.jfr")
        out(res)


if __name__ == "__main__":
    main()
