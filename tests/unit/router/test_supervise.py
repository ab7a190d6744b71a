"""A crashed router worker starts again in place (exec of the same command, backoff that
grows with quick crashes); a clean stop is not a crash."""

from __future__ import annotations

import sys

import pytest

from services.router import supervise


class Exec(Exception):
    pass


@pytest.fixture
def execs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[float, list[str], str]]:
    calls: list[tuple[float, list[str], str]] = []
    slept: list[float] = []
    monkeypatch.setattr(supervise.time, "sleep", slept.append)
    monkeypatch.setattr(supervise.signal, "signal", lambda *a: None)
    monkeypatch.delenv(supervise.CRASHES_ENV, raising=False)
    monkeypatch.setattr(supervise, "_began", supervise.time.monotonic())

    def execv(path: str, argv: list[str]) -> None:
        calls.append((slept[-1], argv, supervise.os.environ[supervise.CRASHES_ENV]))
        raise Exec

    monkeypatch.setattr(supervise.os, "execv", execv)
    return calls


def crash(code: int) -> None:
    raise SystemExit(code)


def test_a_crash_runs_the_same_command_again_after_a_growing_backoff(
    execs: list, caplog: pytest.LogCaptureFixture
) -> None:
    for _ in range(5):
        with pytest.raises(Exec):
            supervise.run(lambda: crash(1))
    assert [delay for delay, _, _ in execs] == [1, 2, 4, 8, 16]
    assert [n for _, _, n in execs] == ["1", "2", "3", "4", "5"]
    assert execs[0][1] == [sys.executable, *sys.orig_argv[1:]]
    lines = [r.getMessage() for r in caplog.records if r.name == supervise.__name__]
    assert "crash loop" not in lines[2] and "crash loop: 4 crashes in a row" in lines[3]


def test_an_exception_is_a_crash_too(execs: list) -> None:
    def boom() -> None:
        raise RuntimeError("Unable to bootstrap")

    with pytest.raises(Exec):
        supervise.run(boom)
    assert len(execs) == 1


def test_a_crash_of_the_faust_app_restarts_at_once(execs: list) -> None:
    import asyncio
    from types import SimpleNamespace

    app = SimpleNamespace()
    supervise.restart_on_crash(app)
    with pytest.raises(Exec):
        asyncio.run(app.crash(RuntimeError("Unable to bootstrap")))
    assert len(execs) == 1


def test_a_clean_stop_is_not_a_crash(execs: list) -> None:
    with pytest.raises(SystemExit):
        supervise.run(lambda: crash(0))
    supervise.run(lambda: None)
    assert execs == []
