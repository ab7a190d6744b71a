"""Shared set-up for fetcher tests: isolated topics on the real broker, gateway entries.

The helpers themselves live in devtools.mail (the benchmarks use them too).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from devtools.mail import (
    PARTITIONS,
    create_topics,
    imap_entry,
    mail,
    pop3_entry,
    publish_gateways,
    read_raw,
)
from devtools.pipeline import wait_until
from kernel.config import Settings, Topics
from services.fetcher.options import FetcherOptions

__all__ = [
    "PARTITIONS",
    "create_topics",
    "fast_options",
    "imap_entry",
    "mail",
    "pop3_entry",
    "publish_gateways",
    "read_raw",
    "wait_for",
]


def fast_options(**overrides: object) -> FetcherOptions:
    """Short timeouts so failure and rebalance tests finish in seconds."""
    base: dict[str, object] = dict(
        backoff_base_s=0.2,
        backoff_cap_s=2.0,
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
        stop_timeout_s=20.0,
        timeout_s=10.0,
        health_every_s=1.0,
    )
    base.update(overrides)
    return FetcherOptions(**base)  # type: ignore[arg-type]


@pytest.fixture
def fetch_settings(kafka_bootstrap: str, tmp_path: Path) -> Settings:
    """Settings with this test's own topics, blob dir and Fernet key."""
    prefix = f"ft{uuid.uuid4().hex[:10]}"
    topics = Topics(**{k: f"{prefix}.{v}" for k, v in Topics().model_dump().items()})
    settings = Settings(
        kafka_bootstrap=kafka_bootstrap,
        blob_dir=tmp_path / "blobs",
        secret_key=SecretStr(Fernet.generate_key().decode()),
        database_url=f"sqlite:///{tmp_path / 'store.db'}",
        topics=topics,
        topic_partitions=PARTITIONS,
    )
    create_topics(kafka_bootstrap, topics)
    return settings


def wait_for(predicate: Callable[[], object], timeout: float, what: str, step: float = 0.2):
    return wait_until(predicate, timeout, what, step)


@pytest.fixture
def fetchers(fetch_settings: Settings) -> Iterator[list]:
    """Fetchers started by a test are stopped (and their threads joined) at teardown."""
    started: list = []
    yield started
    for stop in started:
        stop()
