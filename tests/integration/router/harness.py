"""Helpers for router integration tests: unique topics, a router subprocess, reading outputs."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from schemas.events import (
    ClientEntry,
    DepartmentEntry,
    GatewaySnapshot,
    IncidentsGranted,
    MailSource,
    RawEmail,
    email_id_for,
)

ROOT = Path(__file__).resolve().parents[3]
TOPIC_FIELDS = (
    "raw",
    "outcomes",
    "ticket_commands",
    "incoming",
    "outbound",
    "ticket_events",
    "clients",
    "gateways",
    "departments",
    "fetcher_state",
    "incidents",
    "ticket_requests",
    "dead",
)
COMPACTED = {"clients", "gateways", "departments"}


def raw_email(
    data: bytes,
    *,
    gateway_id: str = "gw1",
    address: str = "support@company.net",
    department_id: int = 1,
    name: str | None = None,
    extra: tuple[str, ...] = (),
) -> RawEmail:
    source = MailSource(protocol="maildir", filename=name or uuid.uuid4().hex)
    return RawEmail(
        email_id=email_id_for(gateway_id, source),
        gateway_id=gateway_id,
        gateway=GatewaySnapshot(
            address=address, department_id=department_id, extra_addresses=extra
        ),
        source=source,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        raw_b64=base64.b64encode(data).decode(),
    )


def mail(
    frm: str = "alice@example.com",
    to: str = "support@company.net",
    subject: str = "Help",
    body: str = "My server is down.",
    extra_headers: str = "",
    message_id: str | None = None,
) -> bytes:
    mid = message_id or f"<{uuid.uuid4().hex}@example.com>"
    return (
        f"From: {frm}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: {mid}\r\n"
        f"Date: Thu, 26 Nov 2026 10:00:00 +0000\r\n{extra_headers}"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()


@dataclass
class RouterEnv:
    """One isolated router deployment on the shared broker: own topics, own app id."""

    bootstrap: str
    workdir: Path
    partitions: int = 2
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    procs: list[subprocess.Popen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.topics = {f: f"r{self.run_id}.{f}" for f in TOPIC_FIELDS}
        self.app_id = f"router-{self.run_id}"
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap)
        try:
            admin.create_topics(
                [
                    NewTopic(
                        name,
                        self.partitions,
                        1,
                        topic_configs={"cleanup.policy": "compact"} if f in COMPACTED else {},
                    )
                    for f, name in self.topics.items()
                ]
            )
        finally:
            admin.close()
        self.producer = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all")

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "SUPPORTDESK_KAFKA_BOOTSTRAP": self.bootstrap,
                "SUPPORTDESK_ROUTER_APP_ID": self.app_id,
                "SUPPORTDESK_TOPIC_PARTITIONS": str(self.partitions),
                "SUPPORTDESK_BLOB_DIR": str(self.workdir / "blobs"),
                "PYTHONPATH": str(ROOT),
            }
        )
        env.update({f"SUPPORTDESK_TOPICS__{f.upper()}": n for f, n in self.topics.items()})
        env.update(extra)
        return env

    def start_router(self, log_name: str = "router", **extra: str) -> subprocess.Popen:
        log = open(self.workdir / f"{log_name}-{len(self.procs)}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.router"],
            cwd=ROOT,
            env=self.env(**extra),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs.append(proc)
        return proc

    def stop_router(self, proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)

    def close(self) -> None:
        for p in self.procs:
            self.stop_router(p)
        self.producer.close()

    # ------------------------------------------------------------- inputs
    def send(self, topic: str, key: str | None, value: bytes | None) -> None:
        self.producer.send(
            self.topics[topic], key=key.encode() if key is not None else None, value=value
        )

    def flush(self) -> None:
        self.producer.flush(30)

    def add_client(self, email: str, client_id: int, name: str = "Client") -> None:
        entry = ClientEntry(email=email, client_id=client_id, name=name)
        self.send("clients", email.lower(), entry.model_dump_json().encode())

    def remove_client(self, email: str) -> None:
        self.send("clients", email.lower(), None)

    def add_department(self, department_id: int, per_incident: bool, notice: str = "") -> None:
        entry = DepartmentEntry(
            department_id=department_id,
            name=f"d{department_id}",
            per_incident=per_incident,
            insufficient_notice=notice,
        )
        self.send("departments", str(department_id), entry.model_dump_json().encode())

    def grant(self, client_id: int, amount: int, grant_id: str | None = None) -> None:
        g = IncidentsGranted(
            grant_id=grant_id or uuid.uuid4().hex, client_id=client_id, amount=amount
        )
        self.send("incidents", str(client_id), g.model_dump_json().encode())

    def send_raw(self, raw: RawEmail) -> None:
        self.send("raw", raw.gateway_id, raw.model_dump_json().encode())

    # ------------------------------------------------------------- outputs
    def read(self, topic: str, until, timeout: float = 90.0) -> list[tuple[str | None, dict]]:
        """Read a topic from the start until `until(records)` holds or the timeout passes."""
        consumer = KafkaConsumer(
            self.topics[topic],
            bootstrap_servers=self.bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            group_id=None,
            consumer_timeout_ms=500,
        )
        records: list[tuple[str | None, dict]] = []
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                for r in consumer:
                    records.append((r.key.decode() if r.key else None, json.loads(r.value)))
                if until(records):
                    break
                self._check_alive()
        finally:
            consumer.close()
        return records

    def read_all(self, topic: str, settle_s: float = 3.0) -> list[tuple[str | None, dict]]:
        """Everything on a topic now (after letting in-flight records land)."""
        time.sleep(settle_s)
        return self.read(topic, lambda r: True, timeout=5)

    def _check_alive(self) -> None:
        for p in self.procs:
            code = p.poll()
            if code not in (None, 0, -signal.SIGTERM, -signal.SIGKILL):
                raise AssertionError(f"router exited with {code}; see logs in {self.workdir}")


def outcomes_by_email(records: Iterable[tuple[str | None, dict]]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for _, v in records:
        out.setdefault(v["email_id"], []).append(v)
    return out
