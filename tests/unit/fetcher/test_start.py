"""A gateway's start: the IMAP login runs while the producer fences and the state is read."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from kernel.blobs import BlobStore
from kernel.config import Settings
from schemas.events import GatewayEntry
from services.fetcher import polls
from services.fetcher.gateway import GatewayRunner
from services.fetcher.options import FetcherOptions

ENTRY = GatewayEntry(
    gateway_id="g1",
    name="g",
    type="external",
    protocol="imap",
    host="h",
    address="support@company.net",
    department_id=1,
)


class FakeBox:
    closed = False

    def close(self) -> None:
        self.closed = True


def _runner(tmp_path: Path) -> GatewayRunner:
    return GatewayRunner(ENTRY, Settings(), FetcherOptions(), blobs=BlobStore(tmp_path))


def test_login_overlaps_the_start_and_selects_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = _runner(tmp_path)
    both = threading.Barrier(2, timeout=5)  # only passes if login and start run at once
    calls: list[bool] = []
    box = FakeBox()

    def connect(_runner: GatewayRunner, select: bool = True) -> FakeBox:
        calls.append(select)
        both.wait()
        return box

    def start() -> None:
        both.wait()
        runner.publisher = object()  # type: ignore[assignment]

    monkeypatch.setattr(polls, "connect_imap", connect)
    monkeypatch.setattr(runner, "start", start)
    runner._start_and_login()
    assert runner.imap is box and calls == [False]  # SELECT comes after the state is read


def test_a_failed_start_is_the_error_and_the_login_is_kept_to_close(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = _runner(tmp_path)
    box = FakeBox()
    monkeypatch.setattr(polls, "connect_imap", lambda r, select=True: box)

    def start() -> None:
        raise RuntimeError("broker down")

    monkeypatch.setattr(runner, "start", start)
    with pytest.raises(RuntimeError, match="broker down"):
        runner._start_and_login()
    assert runner.imap is box
    runner.close()
    assert box.closed and runner.imap is None


def test_a_failed_login_fails_the_poll(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = _runner(tmp_path)

    def connect(r: GatewayRunner, select: bool = True) -> FakeBox:
        raise OSError("connection refused")

    monkeypatch.setattr(polls, "connect_imap", connect)
    monkeypatch.setattr(runner, "start", lambda: None)
    with pytest.raises(OSError, match="connection refused"):
        runner._start_and_login()
    assert runner.imap is None
