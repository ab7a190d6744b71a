"""What the chaos run starts and breaks: a durable PostgreSQL, an SMTP sink that keeps
every Message-ID, and service instances that can be SIGKILLed and started again."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from pathlib import Path

from devtools.net import free_port
from devtools.pipeline import REPO
from devtools.postgres import PostgresCluster


class DurablePostgres(PostgresCluster):
    """The throwaway cluster, but durable: the guarantees are about acknowledged commits."""

    def start_server(self) -> None:
        opts = (
            f"-p {self.port} -k {self.socket_dir} -c listen_addresses={self.host} "
            "-c fsync=on -c synchronous_commit=on "
            "-c max_connections=200 -c shared_buffers=64MB"
        )
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log_path),
            "-o", opts, "-w", "-t", "60", "start",
        )  # fmt: skip
        self._started = True


class SmtpCapture:
    """An aiosmtpd sink: every mail's Message-ID and when it arrived, repeats kept."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.host = "127.0.0.1"
        self.port = free_port(self.host)
        self.received: list[tuple[str, float]] = []
        self._lock = threading.Lock()
        capture = self

        class Handler:
            async def handle_DATA(self, server: object, session: object, envelope) -> str:  # noqa: ANN001
                head = BytesHeaderParser().parsebytes(envelope.original_content or b"")
                with capture._lock:
                    capture.received.append((str(head.get("Message-ID", "")).strip(), time.time()))
                return "250 OK"

        self._controller = Controller(Handler(), hostname=self.host, port=self.port)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._controller.stop()

    def message_ids(self) -> list[str]:
        with self._lock:
            return [mid for mid, _ in self.received]


@dataclass
class Instance:
    """One service process under a stable instance name, with its own /health port."""

    service: str
    index: int
    workdir: Path
    health_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def name(self) -> str:
        return f"{self.service}-{self.index}"

    def start(self, env: dict[str, str]) -> None:
        log = open(self.workdir / f"{self.name}.log", "ab")  # noqa: SIM115 - the child keeps it
        log.write(f"\n=== start {time.strftime('%H:%M:%S')} ===\n".encode())
        log.flush()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "supportdesk.cli", self.service],
            cwd=self.workdir,
            env={
                **os.environ,
                "PYTHONPATH": str(REPO),
                **env,
                "SUPPORTDESK_INSTANCE_NAME": f"chaos-{self.name}",
                "SUPPORTDESK_HEALTH_PORT": str(self.health_port),
            },
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.starts += 1

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, no offset commit, no leave-group."""
        if self.alive():
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self, timeout: float = 20) -> None:
        if not self.alive():
            return
        assert self.proc is not None
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def health(self) -> str:
        """The state /health reports; "down" when nothing answers."""
        url = f"http://127.0.0.1:{self.health_port}/health"
        try:
            with urllib.request.urlopen(url, timeout=1) as res:
                body = res.read()
        except urllib.error.HTTPError as err:
            body = err.read()
        except (OSError, ValueError):
            return "down"
        try:
            return str(json.loads(body).get("state", "?"))
        except ValueError:
            return "?"

    def log_tail(self, chars: int = 3000) -> str:
        path = self.workdir / f"{self.name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""
