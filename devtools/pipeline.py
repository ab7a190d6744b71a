"""The Supportdesk processes themselves as subprocesses, for tests and benchmarks.

Services run as `python -m supportdesk.cli <service>`, as they do in
production, configured only through SUPPORTDESK_* variables.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kernel.config import Settings

REPO = Path(__file__).resolve().parents[1]


def isolated_settings(
    bootstrap: str, database_url: str, work: Path, prefix: str, partitions: int, **more: object
) -> Settings:
    """Settings of one test or benchmark run: its own topics, groups, router app id, key,
    and every file under `work`, so runs sharing a broker never see each other's mail."""
    from cryptography.fernet import Fernet

    from devtools.mail import unique_topics

    run_id = uuid.uuid4().hex[:10]
    return Settings(
        kafka_bootstrap=bootstrap,
        database_url=database_url,
        var_dir=work,
        blob_dir=work / "blobs",
        secret_key=Fernet.generate_key().decode(),
        router_app_id=f"{prefix}router-{run_id}",
        store_group_id=f"{prefix}store-{run_id}",
        mailer_group_id=f"{prefix}mailer-{run_id}",
        mailer_ledger=work / "mailer.sqlite",
        topic_partitions=partitions,
        topics=unique_topics(f"{prefix.rstrip('-')}t{run_id}"),
        **more,
    )


def settings_env(settings: Settings) -> dict[str, str]:
    """The SUPPORTDESK_* variables that reproduce these settings in a subprocess."""
    env = {
        "SUPPORTDESK_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "SUPPORTDESK_DATABASE_URL": settings.database_url,
        "SUPPORTDESK_VAR_DIR": str(settings.var_dir),
        "SUPPORTDESK_BLOB_DIR": str(settings.blob_dir),
        "SUPPORTDESK_ROUTER_APP_ID": settings.router_app_id,
        "SUPPORTDESK_STORE_GROUP_ID": settings.store_group_id,
        "SUPPORTDESK_MAILER_GROUP_ID": settings.mailer_group_id,
        "SUPPORTDESK_MAILER_LEDGER": str(settings.mailer_ledger),
        "SUPPORTDESK_TOPIC_PARTITIONS": str(settings.topic_partitions),
        "SUPPORTDESK_SMTP_HOST": settings.smtp_host,
        "SUPPORTDESK_SMTP_PORT": str(settings.smtp_port),
    }
    if settings.secret_key is not None:
        env["SUPPORTDESK_SECRET_KEY"] = settings.secret_key.get_secret_value()
    if settings.ca_file:
        env["SUPPORTDESK_CA_FILE"] = settings.ca_file
    for name, value in settings.topics.model_dump().items():
        env[f"SUPPORTDESK_TOPICS__{name.upper()}"] = value
    return env


@dataclass
class Pipeline:
    settings: Settings
    env: dict[str, str]
    workdir: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, service: str, *args: str, name: str | None = None) -> subprocess.Popen[bytes]:
        name = name or service
        log = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [sys.executable, "-m", "supportdesk.cli", service, *args],
            cwd=self.workdir,
            env={**os.environ, "PYTHONPATH": str(REPO), **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.procs[name] = proc
        return proc

    def run(self, service: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "supportdesk.cli", service, *args],
            cwd=self.workdir,
            env={**os.environ, "PYTHONPATH": str(REPO), **self.env},
            capture_output=True,
            timeout=timeout,
        )

    def stop(self, name: str, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def log(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def assert_running(self) -> None:
        for name, proc in self.procs.items():
            assert proc.poll() is None, f"{name} exited ({proc.returncode}):\n{self.log(name)}"


def wait_until(predicate: Callable[[], object], timeout: float, what: str, step: float = 0.3):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class ServiceProcess:
    """One `supportdesk <service>` subprocess with its own log, for tests that kill it."""

    def __init__(
        self, service: str, env: dict[str, str], workdir: Path, name: str, stop_s: float = 30
    ) -> None:
        self.log_path = workdir / f"{name}.log"
        self.stop_s = stop_s
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "supportdesk.cli", service],
            cwd=workdir,
            env={**os.environ, "PYTHONPATH": str(REPO), **env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(self.stop_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")
