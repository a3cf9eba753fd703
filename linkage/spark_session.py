"""The Spark session the Spark link engine runs on: its settings, checked before any work.

``SparkSettings.from_config(config)`` reads the ``[spark]`` table (shipped defaults in
``core/defaults/23_spark.toml``) and refuses, with IntelError naming the key, anything Spark
would fail on later: an unknown key, a master that is no Spark master URL, memory under the 1g
the engine needs (Spark itself refuses an executor under 450m) or more than a local machine has,
a checkpoint or work folder that cannot be written. ``preflight`` then checks what the settings
cannot show: pyspark installed, Java 17 or later, a ``spark://`` or ``k8s://`` master that
answers. ``open_session`` starts the session and runs one tiny job, so that a master with no
workers (or none with the memory asked for) is found in seconds, not when linking.

pyspark is an optional dependency (the ``spark`` extra: ``pip install 'mash-intel[spark]'``),
imported only inside ``preflight`` and ``open_session``.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from core.errors import IntelError

MIN_MEMORY = 1 << 30            # 1 GiB: below this Splink's predict spills or dies on a small world
MIN_JAVA = 17                   # Spark 4 runs on Java 17 and later
_UNITS = {"": 1 << 20, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}   # Spark: no unit = MiB
_MEMORY = re.compile(r"^(\d+)([kmgt]?)b?$", re.IGNORECASE)
_LOCAL = re.compile(r"^local(\[(\*|[1-9]\d*)(,[1-9]\d*)?\])?$")
_HOSTPORT = re.compile(r"^([A-Za-z0-9.\-]+|\[[0-9A-Fa-f:]+\]):(\d{1,5})$")
KEYS = ("master", "app_name", "driver_memory", "executor_memory", "executor_cores", "shuffle_partitions",
        "checkpoint_dir", "work_dir", "break_lineage", "progress", "log_level", "start_timeout_s", "conf")
BREAK_LINEAGE = ("parquet", "persist", "checkpoint")
LOG_LEVELS = ("ERROR", "WARN", "INFO", "DEBUG")


def memory_bytes(value: Any, key: str) -> int:
    """Bytes of a Spark memory string ('512m', '4g'); IntelError naming the key if it is none."""
    m = _MEMORY.match(str(value).strip()) if isinstance(value, (str, int)) and not isinstance(value, bool) else None
    if not m:
        raise IntelError(f"config [spark] {key} must be a Spark memory size such as '2g' or '512m', got {value!r}")
    return int(m.group(1)) * _UNITS[m.group(2).lower()]


def _gib(n: int) -> str:
    return f"{n / (1 << 30):.1f} GiB"


def _writable_dir(path: str, key: str) -> None:
    if "://" in path:   # hdfs://, s3a:// ...: Spark's to reach, not ours to test
        return
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".intel-probe-"):
            pass
    except OSError as exc:
        raise IntelError(f"config [spark] {key} {path!r} is not a folder this process can write: {exc.strerror or exc}") from exc


@dataclass(frozen=True)
class SparkSettings:
    """The ``[spark]`` table, checked."""

    master: str = "local[*]"
    app_name: str = "mash-intel-link"
    driver_memory: str = "2g"
    executor_memory: str = "2g"
    executor_cores: int = 0            # 0: Spark's default
    shuffle_partitions: int = 0        # 0: two per core in local mode, else Spark's default (200)
    checkpoint_dir: str = ""           # "": a folder in the run's work folder
    work_dir: str = ""                 # "": the system's temporary folder
    break_lineage: str = "parquet"
    progress: bool = True
    log_level: str = "WARN"
    start_timeout_s: float = 120.0
    conf: dict[str, str] = field(default_factory=dict)

    @property
    def local(self) -> bool:
        return self.master.startswith("local")

    @property
    def local_cores(self) -> int:
        m = _LOCAL.match(self.master)
        if not m or not m.group(2) or m.group(2) == "*":
            return os.cpu_count() or 1
        return int(m.group(2))

    @property
    def partitions(self) -> int:
        if self.shuffle_partitions:
            return self.shuffle_partitions
        return 2 * self.local_cores if self.local else 200

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> SparkSettings:
        raw = dict((config or {}).get("spark") or {})
        unknown = sorted(set(raw) - set(KEYS))
        if unknown:
            raise IntelError(f"config [spark] has unknown key(s) {', '.join(unknown)}; known keys: {', '.join(KEYS)}")
        s = cls(**{k: v for k, v in raw.items() if k != "conf"}, conf=_check_conf(raw.get("conf") or {}))
        s._check()
        return s

    def _check(self) -> None:
        if not isinstance(self.master, str) or not _master_ok(self.master):
            raise IntelError(
                f"config [spark] master {self.master!r} is not a Spark master URL: use local[*], local[N], "
                "spark://HOST:PORT[,HOST:PORT], yarn or k8s://https://HOST:PORT")
        for key in ("app_name", "checkpoint_dir", "work_dir"):
            if not isinstance(getattr(self, key), str):
                raise IntelError(f"config [spark] {key} must be a string, got {getattr(self, key)!r}")
        for key in ("driver_memory", "executor_memory"):
            n = memory_bytes(getattr(self, key), key)
            if n < MIN_MEMORY:
                raise IntelError(f"config [spark] {key} {getattr(self, key)!r} is too little: the Spark engine "
                                 f"needs at least 1g (Splink's predict holds each partition's pairs in memory)")
        total = psutil.virtual_memory().total
        if self.local and memory_bytes(self.driver_memory, "driver_memory") > total:
            raise IntelError(f"config [spark] driver_memory {self.driver_memory!r} is more than this machine's "
                             f"{_gib(total)}: in local mode the whole job runs in the driver")
        for key in ("executor_cores", "shuffle_partitions"):
            value = getattr(self, key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise IntelError(f"config [spark] {key} must be a whole number, 0 for the default; got {value!r}")
        if self.break_lineage not in BREAK_LINEAGE:
            raise IntelError(f"config [spark] break_lineage must be one of {', '.join(BREAK_LINEAGE)}, "
                             f"got {self.break_lineage!r}")
        if not isinstance(self.progress, bool):
            raise IntelError(f"config [spark] progress must be true or false, got {self.progress!r}")
        if self.log_level not in LOG_LEVELS:
            raise IntelError(f"config [spark] log_level must be one of {', '.join(LOG_LEVELS)}, got {self.log_level!r}")
        if not isinstance(self.start_timeout_s, (int, float)) or isinstance(self.start_timeout_s, bool) \
                or not self.start_timeout_s > 0:
            raise IntelError(f"config [spark] start_timeout_s must be a number of seconds above 0, "
                             f"got {self.start_timeout_s!r}")
        for key in ("work_dir", "checkpoint_dir"):
            if getattr(self, key):
                _writable_dir(getattr(self, key), key)

    def spark_conf(self) -> dict[str, str]:
        conf = {
            "spark.app.name": self.app_name,
            "spark.driver.memory": self.driver_memory,
            "spark.executor.memory": self.executor_memory,
            "spark.sql.shuffle.partitions": str(self.partitions),
            "spark.default.parallelism": str(self.partitions),
            "spark.ui.showConsoleProgress": "true" if self.progress else "false",
            "spark.ui.enabled": "false",
            "spark.sql.session.timeZone": "UTC",
        }
        if self.executor_cores:
            conf["spark.executor.cores"] = str(self.executor_cores)
        if self.local:
            conf["spark.driver.host"] = "127.0.0.1"
            conf["spark.driver.bindAddress"] = "127.0.0.1"
        conf.update(TUNING)
        if self.local:
            conf.update(self.local_tuning())
        conf.update(self.conf)
        return conf

    def local_tuning(self) -> dict[str, str]:
        """Local mode: joins broadcast small sides (one JVM, so a broadcast is a pointer, not a
        network copy; Splink's blocking is one join per rule, and a sort-merge join is two shuffles
        each), measured in docs/scale.md. Splink's blocking query joins every rule at once, so all
        its broadcast tables are alive together: each may take half the driver's memory shared by
        BROADCASTS_AT_ONCE. (An eighth each let 19 rules' tables of 392-456 MiB - 1M mentions,
        once the namesake conditions widened them - exhaust an 8g driver.)"""
        limit = memory_bytes(self.driver_memory, "driver_memory") // (2 * BROADCASTS_AT_ONCE)
        return {"spark.sql.autoBroadcastJoinThreshold": str(limit),
                "spark.sql.adaptive.autoBroadcastJoinThreshold": str(limit)}


@contextmanager
def broadcasts(spark: Any, settings: SparkSettings, share: int) -> Iterator[None]:
    """In local mode, joins may broadcast ``1/share`` of the driver's memory meanwhile (0: the
    session's own limit, local_tuning), for queries with few joins alive at once."""
    keys = ("spark.sql.autoBroadcastJoinThreshold", "spark.sql.adaptive.autoBroadcastJoinThreshold")
    if not (share and settings.local):
        yield
        return
    before = {k: spark.conf.get(k) for k in keys}
    try:
        for k in keys:
            spark.conf.set(k, str(memory_bytes(settings.driver_memory, "driver_memory") // share))
        yield
    finally:
        for k, v in before.items():
            spark.conf.set(k, v)


# More than the joins of Splink's blocking query (one a rule: 19), so their broadcasts fit together.
BROADCASTS_AT_ONCE = 24

# Splink's blocking SQL repeats every earlier rule, negated, in each later rule's filter (a pair is
# scored once): with constraint propagation Catalyst infers constraints over all of them, and
# planning the 19 rules' union took 27-46 s on a 14k-mention world, 7-8 s without (docs/scale.md).
# Any [spark.conf] key overrides these.
TUNING = {"spark.sql.constraintPropagation.enabled": "false"}


def _check_conf(conf: Any) -> dict[str, str]:
    if not isinstance(conf, dict):
        raise IntelError(f"config [spark.conf] must be a table of spark.* settings, got {conf!r}")
    out = {}
    for key, value in conf.items():
        if not str(key).startswith("spark.") or isinstance(value, (dict, list)):
            raise IntelError(f"config [spark.conf] {key!r}: only spark.* keys with a plain value, got {value!r}")
        out[str(key)] = str(value).lower() if isinstance(value, bool) else str(value)
    return out


def _master_ok(master: str) -> bool:
    if _LOCAL.match(master) or master == "yarn":
        return True
    if master.startswith("spark://"):
        return all(_HOSTPORT.match(hp) for hp in master.removeprefix("spark://").split(","))
    if master.startswith("k8s://"):
        return bool(_HOSTPORT.match(re.sub(r"^https?://", "", master.removeprefix("k8s://")).rstrip("/")))
    return False


# --- what the settings cannot show ---------------------------------------------------------------

def java_version() -> int:
    """The major version of the Java that Spark will start (JAVA_HOME's, else the PATH's)."""
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not java or not Path(java).exists():
        where = f"JAVA_HOME is {home!r} but it has no bin/java" if home else "no `java` on the PATH and JAVA_HOME is not set"
        raise IntelError(f"the Spark engine needs Java {MIN_JAVA} or later: {where} "
                         "(install openjdk-17-jre-headless, or link with --engine duckdb)")
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise IntelError(f"the Spark engine needs Java {MIN_JAVA} or later: {java} -version failed ({exc})") from exc
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not m:
        raise IntelError(f"the Spark engine needs Java {MIN_JAVA} or later: cannot read the version of {java}")
    major = int(m.group(2)) if m.group(1) == "1" else int(m.group(1))
    if major < MIN_JAVA:
        raise IntelError(f"the Spark engine needs Java {MIN_JAVA} or later; {java} is Java {major}")
    return major


def _reachable(hostport: str, timeout: float = 5.0) -> str | None:
    """None if a TCP connection opens, else why not."""
    host, _, port = hostport.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            return None
    except OSError as exc:
        return exc.strerror or type(exc).__name__


def preflight(settings: SparkSettings) -> None:
    """Everything that can be checked before a JVM starts; IntelError if the engine cannot run."""
    try:
        import pyspark  # noqa: F401  (optional dependency: the spark extra)
    except ImportError as exc:
        raise IntelError("the Spark engine needs pyspark: pip install 'mash-intel[spark]' "
                         "(or link with --engine duckdb)") from exc
    java_version()
    master = settings.master
    if master.startswith("spark://"):
        answers = {hp: _reachable(hp) for hp in master.removeprefix("spark://").split(",")}
        if all(answers.values()):
            raise IntelError(f"config [spark] master {master}: no master answers ("
                             + "; ".join(f"{hp}: {why}" for hp, why in answers.items()) + ")")
    elif master.startswith("k8s://"):
        hp = re.sub(r"^https?://", "", master.removeprefix("k8s://")).rstrip("/")
        why = _reachable(hp)
        if why:
            raise IntelError(f"config [spark] master {master}: the Kubernetes API server does not answer ({why})")
    elif master == "yarn" and not (os.environ.get("HADOOP_CONF_DIR") or os.environ.get("YARN_CONF_DIR")):
        raise IntelError("config [spark] master 'yarn' needs HADOOP_CONF_DIR or YARN_CONF_DIR set to the cluster's configuration")


def log(message: str) -> None:
    print(f"spark: {message}", file=sys.stderr, flush=True)


def open_session(settings: SparkSettings, checkpoint_dir: str) -> Any:
    """A started SparkSession with Splink's similarity functions, checked with one tiny job.
    IntelError if it cannot start or runs no task within ``start_timeout_s``."""
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    builder = SparkSession.builder.master(settings.master)
    conf = settings.spark_conf()
    jars = [similarity_jar_location()] + [j for j in conf.pop("spark.jars", "").split(",") if j]
    builder = builder.config("spark.jars", ",".join(jars))
    for key, value in conf.items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:
        raise IntelError(f"Spark did not start on master {settings.master}: {_first_line(exc)}") from exc
    try:
        spark.sparkContext.setLogLevel(settings.log_level)
        spark.sparkContext.setCheckpointDir(checkpoint_dir)
        _probe(spark, settings)
    except BaseException:
        spark.stop()
        raise
    return spark


def _probe(spark: Any, settings: SparkSettings) -> None:
    """One task, cancelled if no executor runs it in time (a master without workers, or none with
    the memory asked for, accepts the job and waits for ever)."""
    sc = spark.sparkContext
    timer = threading.Timer(settings.start_timeout_s, lambda: sc.cancelJobGroup("intel-probe"))
    sc.setJobGroup("intel-probe", "mash-intel: is there an executor?", interruptOnCancel=True)
    timer.start()
    try:
        spark.range(1).count()
    except Exception as exc:
        raise IntelError(
            f"Spark on master {settings.master} ran no task within {settings.start_timeout_s:g} s "
            f"(no workers, or none with executor_memory {settings.executor_memory} free): {_first_line(exc)}") from exc
    finally:
        timer.cancel()
        sc.setLocalProperty("spark.jobGroup.id", None)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300] if text else ''}"
