"""Starting Spark: pyspark and Java present, the master reachable, a clear error otherwise.

Spark's own failures are long Java stack traces, or a client that retries an unreachable master
for a minute before it gives up. Each cause here is checked first, in a second, and reported as
an input error: what was expected, what was found, what to do.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from audit.errors import AuditInputError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

APP_NAME = "employment-fairness-audit"
MIN_JAVA = 17
CONNECT_TIMEOUT = 5.0  # seconds to wait for a standalone, Kubernetes or Connect master to answer
# Local mode reads small tables: Spark's default of 200 shuffle partitions costs more than the
# work there. A cluster keeps its own default unless the spec's conf sets one.
# The web UI is for a cluster's operators; on this machine it only takes a port.
LOCAL_CONF = {"spark.sql.shuffle.partitions": "8", "spark.ui.enabled": "false"}
LOGGING = Path(__file__).with_name("log4j2.properties")
BASE_CONF = {
    "spark.sql.execution.arrow.pyspark.enabled": "true",  # toPandas and mapInPandas via Arrow
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
}
# What a Spark Connect client cannot set on a running server (the console and the JVM are the
# server's): each would print a "Cannot modify the value of the Spark config" warning.
_STATIC = {"spark.ui.showConsoleProgress", "spark.driver.extraJavaOptions"}
_ENVIRONMENT = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_LOCAL = re.compile(r"local(\[(\*|\d+)(,\s*\d+)?\])?$")
MASTERS = (
    "local, local[N], local[*], spark://HOST:PORT, yarn, k8s://https://HOST:PORT, sc://HOST:PORT"
)


def parse_conf(values: Sequence[str]) -> dict[str, str]:
    """--spark-conf KEY=VALUE items as Spark settings."""
    conf: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value:
            raise AuditInputError(
                f"--spark-conf {item!r}",
                expected="KEY=VALUE, e.g. spark.driver.memory=4g",
                found=f"{item!r}",
                fix="write the Spark setting, an equals sign, and its value",
            )
        conf[key.strip()] = value
    return conf


def require_pyspark() -> None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise AuditInputError(
            "engine spark",
            expected="the pyspark package",
            found="it is not installed",
            fix="pip install -e '.[spark]' (or pip install pyspark), or run with engine numpy",
        ) from None


def java_version(java: str) -> int | None:
    """The major version `java -version` reports (17 for "17.0.15", 8 for "1.8.0")."""
    try:
        done = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', done.stderr + done.stdout)
    if match is None:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def require_java() -> str:
    """The java command Spark will start, at version 17 or newer."""
    home = os.environ.get("JAVA_HOME")
    java = os.path.join(home, "bin", "java") if home else shutil.which("java")
    where = f"JAVA_HOME={home}" if home else "the PATH"
    if java is None or not os.access(java, os.X_OK):
        raise AuditInputError(
            "engine spark",
            expected=f"Java {MIN_JAVA} or newer, which Spark runs on",
            found=f"no java command in {where}",
            fix="install a JDK (Debian: apt-get install openjdk-17-jre-headless) and set "
            "JAVA_HOME, or run with engine numpy",
        )
    version = java_version(java)
    if version is None or version < MIN_JAVA:
        raise AuditInputError(
            "engine spark",
            expected=f"Java {MIN_JAVA} or newer",
            found=f"{java} reports {'no version' if version is None else f'Java {version}'}",
            fix="install Java 17 and point JAVA_HOME at it",
        )
    return java


def require_master(master: str) -> None:
    """Refuses a master URL Spark would not parse, or a cluster that does not answer."""
    if _LOCAL.match(master) or master == "yarn":
        return
    parts = urlsplit(master[len("k8s://") :] if master.startswith("k8s://") else master)
    if parts.scheme not in {"spark", "sc", "http", "https"} or not parts.hostname:
        raise AuditInputError(
            "engine.spark.master",
            expected=f"a Spark master URL: {MASTERS}",
            found=repr(shown(master)),
            fix="see docs/spark.md for each kind of cluster",
        )
    default = {"spark": 7077, "sc": 15002, "https": 443, "http": 80}[parts.scheme]
    host, port = parts.hostname, parts.port or default
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT):
            pass
    except OSError as err:
        raise AuditInputError(
            "engine.spark.master",
            expected=f"a Spark master answering at {host}:{port}",
            found=f"no answer within {CONNECT_TIMEOUT:.0f} s ({err.strerror or err})",
            fix="check the address and that the cluster is up, or use master local[*] to "
            "run Spark on this machine",
        ) from None


def shown(master: str) -> str:
    """A master URL as it may be printed and logged: tokens and passwords masked."""
    masked = re.sub(r"((?:token|password|secret|key)=)[^;&/]*", r"\1***", master, flags=re.I)
    return re.sub(r"://[^/@:]*:[^/@]*@", "://***@", masked)


def from_environment(value: str, key: str) -> str:
    """`value`, or the environment variable it names as ${NAME} (a master URL with a token, a
    secret setting: the spec, which is published, holds only the name)."""
    named = _ENVIRONMENT.fullmatch(value)
    if named is None:
        return value
    found = os.environ.get(named.group(1))
    if not found:
        raise AuditInputError(
            key,
            expected=f"the environment variable {named.group(1)} (the spec names it)",
            found="it is not set" if found is None else "it is empty",
            fix=f"export {named.group(1)}=... before the audit (in CI: a secret variable)",
        )
    return found


def spark_session(master: str = "local[*]", conf: Mapping[str, str] | None = None) -> SparkSession:
    """The active Spark session, or a new one on `master` with `conf`, once every cause of a
    failed start has been ruled out. ${NAME} in either is read from the environment."""
    master = from_environment(master, "engine.spark.master")
    conf = {k: from_environment(v, f"engine.spark.conf.{k}") for k, v in (conf or {}).items()}
    require_pyspark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:  # a notebook's or a test module's session: use it as it is
        return active
    require_java()
    require_master(master)
    # Executors run the model through this interpreter (mapInPandas), with this package.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    local = bool(_LOCAL.match(master))
    if local:  # no lookup of this machine's public address, and no warning about it
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder.appName(APP_NAME)
    builder = builder.remote(master) if master.startswith("sc://") else builder.master(master)
    quiet = {"spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile={LOGGING.as_uri()}"}
    base = {**BASE_CONF, **quiet}
    if master.startswith("sc://"):  # static settings of the Connect server: refused, with a warning
        base = {k: v for k, v in base.items() if k not in _STATIC}
    settings = {**base, **(LOCAL_CONF if local else {}), **(conf or {})}
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        with warnings.catch_warnings():  # pyspark's own, about the pandas version
            warnings.simplefilter("ignore", FutureWarning)
            session = builder.getOrCreate()
    except Exception as err:  # Spark raises many kinds; the first line says which
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise AuditInputError(
            "engine spark",
            expected=f"a Spark session on {shown(master)}",
            found=f"Spark did not start: {first[:300]}",
            fix="check engine.spark.master and engine.spark.conf (docs/spark.md)",
        ) from None
    if not master.startswith("sc://"):
        session.sparkContext.setLogLevel("ERROR")
    return session
