"""helpers.hpo.spark: master URL validation and the one-sentence reasons for running Hyperopt without Spark."""

from __future__ import annotations

import pytest

from helpers.hpo import spark


@pytest.mark.parametrize(
    "master",
    ["local", "local[*]", "local[4]", "local[2,3]", "spark://h:7077", "yarn", "k8s://https://h:443", "off"],
)
def test_valid_masters(master):
    spark.validate_master(master)


@pytest.mark.parametrize("master", ["", "local[x]", "sc://host:15002", "localhost"])
def test_invalid_master_says_what_to_pass(master):
    with pytest.raises(ValueError, match=r"not a Spark master URL; use 'local\[\*\]'"):
        spark.validate_master(master)


def test_reasons_for_running_without_spark(monkeypatch):
    assert "switched off" in spark.unavailable_reason("off")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    assert spark.java_executable() is None
    reason = spark.unavailable_reason("local[*]")
    assert reason.startswith("Java is not installed") and "install a JDK" in reason


def test_java_home_wins(tmp_path, monkeypatch):
    java = tmp_path / "bin" / "java"
    java.parent.mkdir()
    java.write_text("")
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    assert spark.java_executable() == str(java)
