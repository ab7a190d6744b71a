"""kernel.priority: every thread of the process gets the nice value, and a lack of
permission is a warning, not a crash."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kernel import priority

ROOT = Path(__file__).resolve().parents[3]

# Two threads started before the call, one after: all three end at nice 7.
CHILD = """
import os, threading
from pathlib import Path
from kernel.priority import set_niceness
stop = threading.Event()
early = [threading.Thread(target=stop.wait) for _ in range(2)]
for t in early: t.start()
got = set_niceness("test", 7)
late = threading.Thread(target=stop.wait); late.start()
nices = [int((t / "stat").read_text().rsplit(")", 1)[1].split()[16])
         for t in Path("/proc/self/task").iterdir()]
stop.set()
print(got, len(nices), sorted(set(nices)))
"""


def test_every_thread_existing_and_later_gets_the_value() -> None:
    out = subprocess.run(
        [sys.executable, "-c", CHILD], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split(maxsplit=2)
    assert out[0] == "7"
    assert int(out[1]) == 4  # the main thread, two early ones, one late one
    assert out[2].strip() == "[7]"


def test_none_and_the_current_value_change_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, int, int]] = []
    monkeypatch.setattr(os, "setpriority", lambda *a: calls.append(a))
    current = os.getpriority(os.PRIO_PROCESS, 0)
    assert priority.set_niceness("test", None) == current
    assert priority.set_niceness("test", current) == current
    assert calls == []


def test_no_permission_is_said_once_and_the_process_goes_on(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse(*_: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "setpriority", refuse)
    current = os.getpriority(os.PRIO_PROCESS, 0)
    with caplog.at_level(logging.WARNING, logger="kernel.priority"):
        assert priority.set_niceness("router", current - 5) == current
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1
    assert "CAP_SYS_NICE" in warnings[0] and f"nice {current}" in warnings[0]
