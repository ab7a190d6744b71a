"""server.properties generation, jar caching and topic policies, without a broker.

Why: a wrong one-node setting (replication 3 for internal topics, a public
listener, auto-created topics) only shows up as a hang or a surprise later.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

import pytest

from kernel.config import Settings
from kernel.topics import LONG_RETENTION_MS, SHORT_RETENTION_MS, topic_specs
from supportdesk.broker import (
    MARKER_NAME,
    LocalBroker,
    ensure_jars,
    jars_ready,
    new_cluster_id,
    parse_properties,
    pom_kafka_version,
    render_server_properties,
)


def _props(tmp_path: Path, **kwargs: object) -> dict[str, str]:
    text = render_server_properties(data_dir=tmp_path, port=19092, controller_port=19093, **kwargs)  # type: ignore[arg-type]
    return parse_properties(text)


def test_single_node_kraft_settings(tmp_path: Path) -> None:
    p = _props(tmp_path)
    assert p["process.roles"] == "broker,controller"
    assert p["node.id"] == "1"
    assert p["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert p["controller.listener.names"] == "CONTROLLER"
    assert p["log.dirs"] == str(tmp_path.absolute() / "data")
    for key in (
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "transaction.state.log.min.isr",
        "min.insync.replicas",
        "default.replication.factor",
    ):
        assert p[key] == "1", key
    assert p["offsets.topic.num.partitions"] == "4"
    assert p["num.partitions"] == "4"
    assert p["group.initial.rebalance.delay.ms"] == "0"
    assert p["auto.create.topics.enable"] == "false"
    assert int(p["log.cleaner.dedupe.buffer.size"]) <= 32 * 1024 * 1024


def test_listens_on_loopback_only(tmp_path: Path) -> None:
    p = _props(tmp_path)
    assert p["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert p["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert "0.0.0.0" not in render_server_properties(
        data_dir=tmp_path, port=19092, controller_port=19093
    )


def test_message_size_limit_is_left_at_the_default(tmp_path: Path) -> None:
    # Big mail uses the claim check; the broker limit must not be raised quietly.
    p = _props(tmp_path)
    assert "message.max.bytes" not in p
    assert "replica.fetch.max.bytes" not in p


def test_overrides_replace_and_append(tmp_path: Path) -> None:
    p = _props(tmp_path, overrides={"num.partitions": 8, "log.retention.hours": "1"})
    assert p["num.partitions"] == "8"
    assert p["log.retention.hours"] == "1"
    text = render_server_properties(
        data_dir=tmp_path, port=1, controller_port=2, overrides={"num.partitions": 8}
    )
    assert [ln for ln in text.splitlines() if ln.startswith("num.partitions=")] == [
        "num.partitions=8"
    ]


def test_ports_must_differ(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        render_server_properties(data_dir=tmp_path, port=9092, controller_port=9092)


def test_local_broker_writes_config_into_its_data_dir(tmp_path: Path) -> None:
    broker = LocalBroker(tmp_path / "kafka", port=29092)
    assert broker.controller_port == 29093  # Kafka's usual pairing by default
    assert broker.bootstrap == "127.0.0.1:29092"
    path = broker.write_config()
    assert path == tmp_path / "kafka" / "server.properties"
    p = parse_properties(path.read_text())
    assert p["listeners"] == "PLAINTEXT://127.0.0.1:29092,CONTROLLER://127.0.0.1:29093"
    assert not broker.is_formatted()
    assert not broker.is_running()
    assert broker.stop() is None  # stopping a broker that never started is harmless


def test_cluster_id_is_16_bytes_urlsafe_base64() -> None:
    for _ in range(200):
        cid = new_cluster_id()
        assert len(cid) == 22
        assert not cid.startswith("-")
        assert len(base64.urlsafe_b64decode(cid + "==")) == 16


def _fake_home(tmp_path: Path, version: str = "9.9.9") -> Path:
    home = tmp_path / "home"
    home.mkdir()
    (home / "pom.xml").write_text(
        f"<project><properties><kafka.version>{version}</kafka.version></properties></project>"
    )
    return home


def test_ensure_jars_does_not_run_maven_when_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = _fake_home(tmp_path)
    libs = home / "libs"
    libs.mkdir()
    (libs / "kafka_2.13-9.9.9.jar").write_bytes(b"")
    (libs / MARKER_NAME).write_text("9.9.9\n")

    def no_maven(*args: object, **kwargs: object) -> None:
        raise AssertionError("mvn must not run when libs/ is complete")

    monkeypatch.setattr(subprocess, "run", no_maven)
    assert pom_kafka_version(home) == "9.9.9"
    assert jars_ready(home)
    assert ensure_jars(home) == libs


def test_ensure_jars_refetches_incomplete_or_other_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = _fake_home(tmp_path)
    libs = home / "libs"
    libs.mkdir()
    (libs / "kafka_2.13-9.9.8.jar").write_bytes(b"")  # an older copy, marker says 9.9.8
    (libs / MARKER_NAME).write_text("9.9.8\n")
    assert not jars_ready(home)

    calls: list[list[str]] = []

    def fake_maven(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        calls.append(cmd)
        out = Path(next(a for a in cmd if a.startswith("-DoutputDirectory=")).split("=", 1)[1])
        (out / "kafka_2.13-9.9.9.jar").write_bytes(b"")
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(subprocess, "run", fake_maven)
    assert ensure_jars(home) == libs
    assert len(calls) == 1
    assert (libs / MARKER_NAME).read_text().strip() == "9.9.9"
    assert not (libs / "kafka_2.13-9.9.8.jar").exists()  # no stale jars on the classpath
    assert ensure_jars(home) == libs
    assert len(calls) == 1  # second call: cached


def test_topic_policies_cover_every_topic() -> None:
    settings = Settings()
    specs = topic_specs(settings)
    assert set(specs) == set(settings.topics.model_dump().values())
    t = settings.topics
    for name in (t.clients, t.gateways, t.departments, t.fetcher_state):
        assert specs[name]["cleanup.policy"] == "compact"
    for name in (t.raw, t.outcomes):
        assert specs[name]["retention.ms"] == str(LONG_RETENTION_MS)
    assert specs[t.dead]["retention.ms"] == "-1"  # dead letters wait for an operator
    assert specs[t.ticket_commands]["retention.ms"] == str(SHORT_RETENTION_MS)
