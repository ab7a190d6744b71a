"""`LocalBroker`: one Kafka process (broker + KRaft controller) and its life cycle."""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from supportdesk.broker.helpers import (
    _tail,
    java_executable,
    new_cluster_id,
    port_in_use,
    render_server_properties,
)
from supportdesk.broker.jars import (
    ensure_jars,
    installed_kafka_version,
    kafka_home,
    libs_dir,
    pom_kafka_version,
)
from supportdesk.broker.settings import CDS_ENV, DEFAULT_HEAP, DEFAULT_JVM_OPTS, HOST, BrokerError

log = logging.getLogger(__name__)


# Brokers still running at interpreter exit are stopped, so a crashed test run or
# script does not leave a JVM holding the port and the data dir lock.
_RUNNING: weakref.WeakSet[LocalBroker] = weakref.WeakSet()


@atexit.register
def _stop_all_at_exit() -> None:
    for broker in list(_RUNNING):
        with contextlib.suppress(Exception):
            broker.stop(timeout=10)


class LocalBroker:
    """One Kafka process (broker + KRaft controller) owning ``data_dir``.

    Layout of data_dir: ``server.properties`` (generated), ``data/`` (Kafka log
    dirs and KRaft metadata), ``logs/server.log`` (log4j, WARN) and
    ``logs/kafka.out`` (JVM stdout/stderr). The first broker that stops cleanly
    leaves a class-data sharing archive in libs/ that later starts reuse.
    """

    def __init__(
        self,
        data_dir: Path,
        port: int = 9092,
        controller_port: int | None = None,
        *,
        host: str = HOST,
        node_id: int = 1,
        home: Path | None = None,
        heap: str = DEFAULT_HEAP,
        jvm_opts: Sequence[str] = DEFAULT_JVM_OPTS,
        overrides: Mapping[str, object] | None = None,
        die_with_parent: bool = True,
        cds: bool | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.properties_path = self.data_dir / "server.properties"
        self.log_dirs = self.data_dir / "data"
        self.logs_path = self.data_dir / "logs"
        self.output_path = self.logs_path / "kafka.out"  # where a failed start explains itself
        self.port = port
        # Kafka's usual pairing (9092/9093); pass an explicit port when that is taken.
        self.controller_port = controller_port if controller_port is not None else port + 1
        self.host = host
        self.node_id = node_id
        self.home = home or kafka_home()
        self.heap = heap
        self.jvm_opts = tuple(jvm_opts)
        self.overrides = dict(overrides or {})
        self.die_with_parent = die_with_parent
        # Class-data sharing archive of Kafka's classes: ~1 s less per JVM start on 2 cores.
        self.cds = cds if cds is not None else os.environ.get(CDS_ENV, "1") != "0"
        self._cds_dump: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._out: IO[bytes] | None = None
        self._started_at: float | None = None
        self.startup_seconds: float | None = None

    # -- properties

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def version(self) -> str:
        """Kafka version of the jars (marker in libs/, else the one pinned in pom.xml)."""
        return installed_kafka_version(self.home) or pom_kafka_version(self.home)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def is_formatted(self) -> bool:
        return (self.log_dirs / "meta.properties").is_file()

    def server_properties(self) -> str:
        return render_server_properties(
            data_dir=self.data_dir,
            port=self.port,
            controller_port=self.controller_port,
            host=self.host,
            node_id=self.node_id,
            overrides=self.overrides,
        )

    def write_config(self) -> Path:
        """(Re)write server.properties so port changes between runs are picked up."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.logs_path.mkdir(parents=True, exist_ok=True)
        self.properties_path.write_text(self.server_properties(), encoding="utf-8")
        return self.properties_path

    @property
    def cds_archive(self) -> Path:
        """AppCDS archive next to the jars; dumped by the first clean broker stop."""
        return libs_dir(self.home) / f"kafka-{self.version}.jsa"

    def _cds_opts(self, *, may_dump: bool) -> list[str]:
        """Use the archive if there is one; else (broker only) dump one at JVM exit.

        A stale or foreign archive (other JDK, other jars) is rejected by the JVM,
        which then simply runs without it; -Xlog keeps its warnings out of the log.
        """
        if not self.cds:
            return []
        quiet = ["-Xlog:cds=off", "-Xlog:cds+dynamic=off"]
        archive = self.cds_archive
        if archive.is_file():
            return [f"-XX:SharedArchiveFile={archive}", *quiet]
        if not may_dump:
            return []
        self._cds_dump = archive.with_name(f"{archive.name}.{os.getpid()}-{id(self)}.tmp")
        return [f"-XX:ArchiveClassesAtExit={self._cds_dump}", *quiet]

    def _finish_cds_dump(self, clean_exit: bool) -> None:
        dump, self._cds_dump = self._cds_dump, None
        if dump is None:
            return
        try:
            if clean_exit and dump.is_file() and dump.stat().st_size > 0:
                os.replace(dump, self.cds_archive)  # atomic; a concurrent dump may win
            else:
                dump.unlink(missing_ok=True)
        except OSError as exc:
            log.debug("CDS archive not kept: %s", exc)

    def _java_cmd(
        self, main_class: str, *args: str, heap: str | None = None, may_dump: bool = False
    ) -> list[str]:
        heap = heap or self.heap
        log4j = self.home / "log4j.properties"
        return [
            java_executable(),
            f"-Xms{heap}",
            f"-Xmx{heap}",
            *self.jvm_opts,
            *self._cds_opts(may_dump=may_dump),
            f"-Dlog4j.configuration={log4j.as_uri()}",
            f"-Dkafka.logs.dir={self.logs_path}",
            "-cp",
            f"{libs_dir(self.home)}/*",
            main_class,
            *args,
        ]

    # -- lifecycle

    def ensure_jars(self) -> Path:
        """Fetch jars with Maven only if libs/ is missing or incomplete."""
        return ensure_jars(self.home)

    def format(self) -> bool:
        """Format the KRaft storage with a fresh cluster id, unless already formatted.

        Returns True when it formatted. Formatting twice would fail (or, forced,
        would orphan the existing data), so an existing meta.properties wins.
        """
        if self.is_formatted():
            return False
        self.ensure_jars()
        self.write_config()
        cmd = self._java_cmd(
            "kafka.tools.StorageTool",
            "format",
            "-t",
            new_cluster_id(),
            "-c",
            str(self.properties_path),
            heap="256m",
        )
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise BrokerError(
                f"StorageTool format failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}"
            )
        return True

    def start(self) -> None:
        """Launch the JVM in the background; use wait_ready() to know when it serves."""
        if self.is_running():
            raise BrokerError(f"broker already running (pid {self.pid})")
        self._started_at = time.monotonic()
        self.startup_seconds = None
        self.ensure_jars()
        for p in (self.port, self.controller_port):
            if port_in_use(p, self.host):
                raise BrokerError(f"port {self.host}:{p} is already in use")
        self.write_config()
        self.format()
        cmd = self._java_cmd("kafka.Kafka", str(self.properties_path), may_dump=True)
        setpriv = shutil.which("setpriv")
        if self.die_with_parent and setpriv:
            # If the Python process dies without cleanup (SIGKILL, crash), the
            # kernel sends SIGTERM to the broker instead of leaving it orphaned.
            cmd = [setpriv, "--pdeathsig", "TERM", "--", *cmd]
        self._out = open(self.output_path, "ab")  # noqa: SIM115 - closed in stop()
        self._out.write(f"\n=== start {time.strftime('%Y-%m-%d %H:%M:%S')} ===\n".encode())
        self._out.flush()
        self._proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            cwd=self.data_dir,
            # Own session: a terminal's Ctrl-C reaches us, and we stop the broker
            # cleanly, rather than the JVM racing us.
            start_new_session=True,
        )
        _RUNNING.add(self)

    def _probe(self, timeout_s: float) -> bool:
        """One readiness attempt: a metadata request that lists this broker."""
        # Cheap pre-check so the admin client does not spin on a closed port.
        try:
            with socket.create_connection((self.host, self.port), timeout=min(timeout_s, 1.0)):
                pass
        except OSError:
            return False
        from kafka import KafkaAdminClient  # imported late: `fetch` needs no kafka-python

        ms = max(500, int(min(timeout_s, 5.0) * 1000))
        try:
            admin = KafkaAdminClient(
                bootstrap_servers=self.bootstrap,
                client_id="supportdesk-readiness",
                bootstrap_timeout_ms=ms,
                request_timeout_ms=ms,
                reconnect_backoff_max_ms=500,
            )
        except Exception:
            return False
        try:
            cluster = admin.describe_cluster()
            admin.list_topics()
            return bool(cluster.get("brokers"))
        except Exception:
            return False
        finally:
            with contextlib.suppress(Exception):
                admin.close()

    def wait_ready(self, timeout: float = 90.0) -> float:
        """Block until the broker answers metadata requests; return seconds since start().

        An open port is not enough: the listener accepts connections before the
        broker has registered with its controller and can serve requests.
        """
        if self._proc is None:
            raise BrokerError("broker not started")
        deadline = time.monotonic() + timeout
        while True:
            rc = self._proc.poll()
            if rc is not None:
                raise BrokerError(
                    f"Kafka exited with code {rc} before it was ready; "
                    f"{self.output_path}:\n{_tail(self.output_path)}\n"
                    f"{self.logs_path / 'server.log'}:\n{_tail(self.logs_path / 'server.log')}"
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BrokerError(
                    f"Kafka not ready at {self.bootstrap} after {timeout:.0f}s; "
                    f"{self.output_path}:\n{_tail(self.output_path)}"
                )
            if self._probe(remaining):
                started_at = self._started_at or time.monotonic()
                self.startup_seconds = time.monotonic() - started_at
                return self.startup_seconds
            time.sleep(0.2)

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM (controlled shutdown), wait, then SIGKILL; return the exit code."""
        proc = self._proc
        if proc is None:
            return None
        clean = True
        try:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    clean = False
                    log.warning("Kafka did not stop in %.0fs; killing pid %s", timeout, proc.pid)
                    with contextlib.suppress(ProcessLookupError):
                        proc.kill()
                    proc.wait(10)
            return proc.returncode
        finally:
            # Only an archive from a broker that got ready and stopped on SIGTERM is kept.
            self._finish_cds_dump(clean and self.startup_seconds is not None)
            self._proc = None
            _RUNNING.discard(self)
            if self._out is not None:
                self._out.close()
                self._out = None

    def __enter__(self) -> LocalBroker:
        self.start()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"LocalBroker({self.data_dir!s}, port={self.port}, pid={self.pid})"
