"""The Kafka jars from Maven Central, fetched once into deploy/kafka/libs."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from supportdesk.broker.settings import KAFKA_HOME_ENV, MARKER_NAME, BrokerError

log = logging.getLogger(__name__)


def kafka_home() -> Path:
    """deploy/kafka (pom.xml, log4j.properties, libs/), or $SUPPORTDESK_KAFKA_HOME."""
    env = os.environ.get(KAFKA_HOME_ENV)
    if env:
        return Path(env).expanduser().resolve()
    return Path(__file__).resolve().parents[2] / "deploy" / "kafka"


def libs_dir(home: Path | None = None) -> Path:
    """Where the broker's jars live (gitignored)."""
    return (home or kafka_home()) / "libs"


def pom_kafka_version(home: Path | None = None) -> str:
    """The Kafka version pinned in pom.xml, the single source of truth."""
    pom = (home or kafka_home()) / "pom.xml"
    try:
        text = pom.read_text(encoding="utf-8")
    except OSError as exc:
        raise BrokerError(f"cannot read {pom}: {exc}") from exc
    match = re.search(r"<kafka\.version>\s*([^<\s]+)\s*</kafka\.version>", text)
    if not match:
        raise BrokerError(f"no <kafka.version> property in {pom}")
    return match.group(1)


def installed_kafka_version(home: Path | None = None) -> str | None:
    """The version recorded by the last complete jar copy, or None."""
    marker = libs_dir(home) / MARKER_NAME
    try:
        return marker.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def jars_ready(home: Path | None = None) -> bool:
    """True when libs/ holds a complete copy for the version pinned in pom.xml."""
    home = home or kafka_home()
    version = pom_kafka_version(home)
    libs = libs_dir(home)
    return (
        installed_kafka_version(home) == version and (libs / f"kafka_2.13-{version}.jar").is_file()
    )


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Serialise jar fetching between processes (parallel test runs, `make run`).

    Locks an existing file (pom.xml) so no lock file litters the work tree.
    """
    with open(path, "rb") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure_jars(home: Path | None = None, *, quiet: bool = True) -> Path:
    """Fill libs/ with Maven once; later calls return at once without running mvn.

    The copy goes to a temporary directory moved into place only when complete,
    then a marker holding the Kafka version is written, so an interrupted download
    or a version bump in pom.xml is never mistaken for a usable classpath.
    """
    home = home or kafka_home()
    libs = libs_dir(home)
    if jars_ready(home):
        return libs
    with _file_lock(home / "pom.xml"):
        if jars_ready(home):  # another process finished while we waited
            return libs
        version = pom_kafka_version(home)
        mvn = shutil.which("mvn")
        if mvn is None:
            raise BrokerError("Maven (mvn) is not on PATH; it is needed once to fetch Kafka jars")
        # Outside the work tree, so an interrupted fetch leaves nothing untracked.
        tmp = Path(tempfile.mkdtemp(prefix="supportdesk-kafka-libs-"))
        cmd = [
            mvn,
            "-B",
            *(["-q"] if quiet else []),
            "-f",
            str(home / "pom.xml"),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={tmp}",
        ]
        started = time.monotonic()
        log.info("fetching Kafka %s jars with Maven into %s", version, libs)
        proc = subprocess.run(cmd, capture_output=quiet, text=True, check=False)
        if proc.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            output = ((proc.stdout or "") + (proc.stderr or ""))[-4000:]
            raise BrokerError(f"mvn failed with exit code {proc.returncode}:\n{output}")
        if not (tmp / f"kafka_2.13-{version}.jar").is_file():
            shutil.rmtree(tmp, ignore_errors=True)
            raise BrokerError(f"mvn finished but kafka_2.13-{version}.jar is missing in {tmp}")
        shutil.rmtree(libs, ignore_errors=True)
        shutil.move(tmp, libs)
        # The marker is written last: a libs/ without it is incomplete and refetched.
        (libs / MARKER_NAME).write_text(version + "\n", encoding="utf-8")
        log.info("Kafka %s jars ready in %.1fs", version, time.monotonic() - started)
        return libs
