"""A Spark session for Hyperopt's SparkTrials: `local[*]` by default or any master URL; or one sentence on why not."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

from helpers.core.environment import unreachable
from helpers.core.params import require
from helpers.core.results import cache_dir

OFF = "off"
# Spark's JVM writes its log4j banner, start-up WARN lines (no native Hadoop library) and "Setting default log
# level" notes to the notebook's stderr; this log4j2 configuration keeps errors only (Spark prints those notes
# when its own loggers have no level of their own). The JVM's "Using incubator modules" line cannot be configured.
QUIET_LOG4J2 = """rootLogger.level = error
logger.spark.name = org.apache.spark
logger.spark.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n
"""
_MASTER = re.compile(r"^(local(\[(\*|\d+)(,\d+)?\])?|(spark|k8s|mesos)://\S+|yarn)$")


def validate_master(master: str) -> None:
    """Check a Spark master URL (local[*], local[N], spark://host:port, yarn, k8s://…) or 'off'."""
    require(
        master == OFF or bool(_MASTER.match(master)),
        f"spark_master={master!r} is not a Spark master URL; use 'local[*]', 'local[4]', 'spark://host:7077', "
        f"'yarn', 'k8s://…', or '{OFF}' to run Hyperopt's trials sequentially.",
    )


def java_executable() -> str | None:
    """The `java` that Spark would start: $JAVA_HOME/bin/java, else the first on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def unavailable_reason(master: str) -> str | None:
    """Why SparkTrials cannot run here (one sentence), or None when Spark can be started."""
    if master == OFF:
        return "Spark is switched off (spark_master='off'), so Hyperopt runs its trials one after another."
    if master_reason := _standalone_unreachable(master):
        return master_reason
    if importlib.util.find_spec("pyspark") is None:
        return (
            "PySpark is not installed, so Hyperopt runs its trials one after another; "
            "`pip install pyspark` to run them on Spark."
        )
    home = os.environ.get("JAVA_HOME")
    if home and not os.access(Path(home) / "bin" / "java", os.X_OK):
        return (
            f"JAVA_HOME={home} holds no runnable bin/java, so Hyperopt runs its trials one after another; point "
            "JAVA_HOME at a JDK 17 or 21 (or unset it to use the `java` on PATH) to run them on Spark."
        )
    java = java_executable()
    if java is None:
        return (
            "Java is not installed (no JAVA_HOME and no `java` on PATH), so Hyperopt runs its trials one after "
            "another; install a JDK 17 or 21 to run them on Spark."
        )
    try:
        works = subprocess.run([java, "-version"], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        works = False
    if not works:
        return (
            f"`{java} -version` fails, so Hyperopt runs its trials one after another; install a JDK 17 or 21 "
            "(or point JAVA_HOME at one) to run them on Spark."
        )
    return None


def _standalone_unreachable(master: str) -> str | None:
    """Why no master of a standalone cluster (`spark://host:port[,host:port]`) answers, or None; Spark itself
    would retry for a minute and end in a Java stack trace."""
    if not master.startswith("spark://"):
        return None
    reasons = []
    for address in master.removeprefix("spark://").split(","):
        host, _, port = address.rpartition(":")
        reason = unreachable(host or address, int(port) if port.isdigit() else 7077)
        if reason is None:
            return None
        reasons.append(reason)
    return (
        f"The Spark master {master} cannot be reached ({reasons[0]}), so Hyperopt runs its trials one after "
        "another; start that master, or pass spark_master='local[*]' to run them on Spark on this machine."
    )


def _quiet_log4j2() -> Path:
    path = cache_dir() / "log4j2-errors-only.properties"
    if not path.exists() or path.read_text() != QUIET_LOG4J2:
        path.write_text(QUIET_LOG4J2)
    return path


def start_session(master: str = "local[*]", app_name: str = "hyperparameter-search") -> Any:
    """Start (or reuse) a SparkSession on `master`, quiet, with this Python for local workers."""
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile=file:{_quiet_log4j2()}")
    )
    if master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # local workers need this venv's packages
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
        return builder.getOrCreate()
