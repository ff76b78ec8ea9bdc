"""The jars of the local Apache Kafka broker, fetched once by Maven into the cache directory.

The pom in ``deploy/kafka`` names ``org.apache.kafka:kafka_2.13`` and a logging binding; Maven copies
them and their runtime dependencies into ``<cache_dir>/kafka/<version>/libs``, which the broker then
runs from with ``java -cp '<libs>/*'``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Literal

from sitrep.kafka.errors import KafkaSetupError
from sitrep.settings import Settings

# Written into the jar directory last, before it is renamed into place: no marker, no jar set.
MARKER = "SITREP-JARS-COMPLETE"
_MVN_TIMEOUT_S = 900
_TAIL_LINES = 40
# Maven 3.8 prints colour resets even in batch mode with style.color=never.
_ANSI = re.compile(r"\x1b\[[0-9;]*m")

Logging = Literal["reload4j", "log4j2"]


def deploy_dir() -> Path:
    """``deploy/kafka`` of the repository: ``$SITREP_DEPLOY_DIR/kafka``, else beside the package."""
    override = os.environ.get("SITREP_DEPLOY_DIR")
    # services/sitrep/kafka/jars.py -> the repository root is parents[3].
    base = Path(override) if override else Path(__file__).resolve().parents[3] / "deploy"
    kafka = base.resolve() / "kafka"
    if not (kafka / "pom.xml").is_file():
        raise KafkaSetupError(
            f"no {kafka / 'pom.xml'}: set SITREP_DEPLOY_DIR to the repository's deploy/ directory"
        )
    return kafka


def kafka_major(version: str) -> int:
    """The major version of an Apache Kafka release such as ``3.9.2``."""
    head = version.split(".", 1)[0]
    if not head.isdigit():
        raise KafkaSetupError(f"not an Apache Kafka version: {version!r}")
    return int(head)


def logging_backend(version: str) -> Logging:
    """Kafka 4 logs through log4j2, Kafka 3 through reload4j (the log4j 1.2 API)."""
    return "log4j2" if kafka_major(version) >= 4 else "reload4j"


def jars_dir(settings: Settings) -> Path:
    """Where the jar set of ``settings.kafka_version`` lives once fetched."""
    return settings.cache_dir.expanduser().resolve() / "kafka" / settings.kafka_version / "libs"


def jars_ready(settings: Settings) -> bool:
    """Whether the jar set of ``settings.kafka_version`` is already in the cache."""
    return (jars_dir(settings) / MARKER).is_file()


def require_tool(name: str, hint: str) -> str:
    """The path of a program on PATH, or a `KafkaSetupError` saying how to get it."""
    path = shutil.which(name)
    if path is None:
        raise KafkaSetupError(f"`{name}` is not on PATH: {hint}")
    return path


def require_java() -> str:
    """The path of `java`, or a `KafkaSetupError` saying how to get it."""
    return require_tool(
        "java", "the local Kafka broker needs Java 17+ (apt-get install default-jre)"
    )


def ensure_jars(settings: Settings) -> Path:
    """The directory holding a complete jar set for ``settings.kafka_version``, fetching it if needed."""
    libs = jars_dir(settings)
    if jars_ready(settings):
        return libs
    require_java()
    mvn = require_tool("mvn", "fetching the Kafka jars needs Maven (apt-get install maven)")
    pom = deploy_dir() / "pom.xml"
    version = settings.kafka_version
    kafka_major(version)  # refuse nonsense before asking Maven

    libs.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="libs.partial-", dir=libs.parent))
    try:
        staging.chmod(0o755)  # mkdtemp makes it private; the cache is not secret
        _copy_dependencies(mvn, pom, version, staging)
        jars = sorted(p.name for p in staging.glob("*.jar"))
        if not any(name.startswith(f"kafka_2.13-{version}") for name in jars):
            raise KafkaSetupError(
                f"mvn succeeded but copied no kafka_2.13-{version} jar to {staging}"
            )
        (staging / MARKER).write_text("\n".join(jars) + "\n", encoding="utf-8")
        _move_into_place(staging, libs)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
        with contextlib.suppress(OSError):  # only succeeds when a failed fetch left it empty
            libs.parent.rmdir()
    return libs


def _copy_dependencies(mvn: str, pom: Path, version: str, out: Path) -> None:
    cmd = [
        mvn,
        "-q",
        "-B",
        "-Dstyle.color=never",
        "-f",
        str(pom),
        f"-Dkafka.version={version}",
        f"-Dkafka.logging={logging_backend(version)}",
        "dependency:copy-dependencies",
        f"-DoutputDirectory={out}",
    ]
    try:
        done = subprocess.run(
            cmd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=_MVN_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise KafkaSetupError(
            f"mvn did not fetch Apache Kafka {version} within {_MVN_TIMEOUT_S} s"
        ) from exc
    if done.returncode != 0:
        output = _ANSI.sub("", done.stdout + done.stderr).strip().splitlines()
        tail = "\n".join(output[-_TAIL_LINES:]) or "(no output)"
        raise KafkaSetupError(
            f"mvn could not fetch Apache Kafka {version} (exit {done.returncode}).\n"
            f"Command: {' '.join(cmd)}\n{tail}"
        )


def _move_into_place(staging: Path, libs: Path) -> None:
    """Rename the finished jar set into place; a concurrent fetch that won the race is kept."""
    if libs.exists() and not (libs / MARKER).is_file():
        shutil.rmtree(libs)  # left by an older, interrupted layout: never complete
    try:
        staging.rename(libs)
    except OSError:
        if not (libs / MARKER).is_file():
            raise
