"""The Spark engine's settings and pre-flight checks: refused with a clear message before any work."""

from __future__ import annotations

import copy
import os
import socket
from pathlib import Path

import pytest

from core.config import load_config
from core.errors import IntelError
from linkage.spark_engine import engine_from_config, engine_name
from linkage.spark_session import SparkSettings, java_version, memory_bytes, preflight


def cfg(**spark) -> dict:
    c = copy.deepcopy(load_config())
    c["spark"].update(spark)
    return c


def test_shipped_defaults_are_valid_and_local() -> None:
    s = SparkSettings.from_config(load_config())
    assert s.master == "local[*]" and s.local and s.partitions == 2 * (os.cpu_count() or 1)
    conf = s.spark_conf()
    assert conf["spark.driver.memory"] == "2g" and conf["spark.sql.shuffle.partitions"] == str(s.partitions)
    assert engine_name(load_config()) == "duckdb" and engine_from_config(load_config()) is None


def test_tuning_for_splinks_sql_and_local_mode_yields_to_the_hubs_own_settings() -> None:
    local = SparkSettings.from_config(cfg(driver_memory="4g")).spark_conf()
    assert local["spark.sql.constraintPropagation.enabled"] == "false"
    # every blocking rule's table broadcast at once must fit: half of 4g shared by 24
    assert local["spark.sql.autoBroadcastJoinThreshold"] == str((4 << 30) // 48)
    cluster = SparkSettings.from_config(cfg(master="yarn")).spark_conf()
    assert cluster["spark.sql.constraintPropagation.enabled"] == "false"
    assert "spark.sql.autoBroadcastJoinThreshold" not in cluster             # Spark's own on a cluster
    own = SparkSettings.from_config(cfg(conf={"spark.sql.autoBroadcastJoinThreshold": "-1",
                                              "spark.sql.constraintPropagation.enabled": True})).spark_conf()
    assert own["spark.sql.autoBroadcastJoinThreshold"] == "-1"
    assert own["spark.sql.constraintPropagation.enabled"] == "true"


@pytest.mark.parametrize("master", ["local", "local[2]", "local[*]", "local[4,2]", "spark://h1:7077,h2:7077",
                                    "yarn", "k8s://https://10.0.0.1:6443"])
def test_master_urls_spark_knows_are_accepted(master: str) -> None:
    assert SparkSettings.from_config(cfg(master=master)).master == master


@pytest.mark.parametrize("spark, message", [
    ({"master": "local[x]"}, "master 'local\\[x\\]' is not a Spark master URL"),
    ({"master": "spark://"}, "is not a Spark master URL"),
    ({"master": "mesos://h:5050"}, "is not a Spark master URL"),
    ({"executor_memory": "256m"}, "executor_memory '256m' is too little"),
    ({"driver_memory": "lots"}, "driver_memory must be a Spark memory size"),
    ({"driver_memory": "100000g"}, "is more than this machine's"),
    ({"shuffle_partitions": -1}, "shuffle_partitions must be a whole number"),
    ({"executor_cores": 1.5}, "executor_cores must be a whole number"),
    ({"break_lineage": "delta"}, "break_lineage must be one of parquet, persist, checkpoint"),
    ({"exector_memory": "4g"}, "unknown key\\(s\\) exector_memory"),
    ({"progress": "yes"}, "progress must be true or false"),
    ({"start_timeout_s": 0}, "start_timeout_s must be a number of seconds above 0"),
    ({"conf": {"driver.memory": "4g"}}, "only spark.\\* keys"),
    ({"checkpoint_dir": "/proc/no-such/ckpt"}, "checkpoint_dir '/proc/no-such/ckpt' is not a folder this process can write"),
])
def test_bad_settings_are_refused_naming_the_key(spark: dict, message: str) -> None:
    with pytest.raises(IntelError, match=message):
        SparkSettings.from_config(cfg(**spark))


def test_engine_names_are_checked() -> None:
    with pytest.raises(IntelError, match="--engine must be one of duckdb, spark, got 'sparks'"):
        engine_name(load_config(), "sparks")
    bad = copy.deepcopy(load_config())
    bad["linkage"]["engine"] = "hadoop"
    with pytest.raises(IntelError, match="config \\[linkage\\] engine must be one of"):
        engine_name(bad)


def test_memory_sizes_read_as_spark_reads_them() -> None:
    assert memory_bytes("2g", "k") == 2 << 30 and memory_bytes("512m", "k") == 512 << 20
    assert memory_bytes("1024", "k") == 1 << 30       # no unit: MiB, as Spark


def test_no_java_is_refused_before_any_work(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(IntelError, match="needs Java 17 or later: no `java` on the PATH and JAVA_HOME is not set"):
        java_version()
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "jdk"))
    with pytest.raises(IntelError, match="JAVA_HOME is .* but it has no bin/java"):
        preflight(SparkSettings.from_config(load_config()))


def test_old_java_is_refused(tmp_path: Path, monkeypatch) -> None:
    java = tmp_path / "bin" / "java"
    java.parent.mkdir()
    java.write_text('#!/bin/sh\necho \'openjdk version "1.8.0_392"\' >&2\n')
    java.chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    with pytest.raises(IntelError, match="is Java 8"):
        java_version()


def test_a_master_that_does_not_answer_is_refused() -> None:
    with socket.socket() as s:              # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(IntelError, match=f"master spark://127.0.0.1:{port}: no master answers"):
        preflight(SparkSettings.from_config(cfg(master=f"spark://127.0.0.1:{port}")))


def test_yarn_without_its_configuration_is_refused(monkeypatch) -> None:
    monkeypatch.delenv("HADOOP_CONF_DIR", raising=False)
    monkeypatch.delenv("YARN_CONF_DIR", raising=False)
    with pytest.raises(IntelError, match="needs HADOOP_CONF_DIR or YARN_CONF_DIR"):
        preflight(SparkSettings.from_config(cfg(master="yarn")))
