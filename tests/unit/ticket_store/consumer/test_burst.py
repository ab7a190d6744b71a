"""BurstGate: the operations consumer waits while the mail consumer is in a burst, never
longer than max_wait_s, and reads until caught up after a wait that ran out."""

from __future__ import annotations

import threading

from services.ticket_store.consumer.burst import BurstGate


class Clock:
    """Fake monotonic time; an Event whose wait() moves it on instead of sleeping."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Stopping(threading.Event):
    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock
        self.waits: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        assert timeout is not None and timeout > 0
        self.waits.append(timeout)
        self.clock.now += timeout
        return self.is_set()


def gate(clock: Clock) -> BurstGate:
    return BurstGate(burst_records=200, hold_s=1.0, max_wait_s=10.0, clock=clock)


def test_no_burst_no_wait() -> None:
    clock = Clock()
    g, stopping = gate(clock), Stopping(clock)
    g.saw(199)  # small polls: a trickle, not a burst
    assert not g.busy
    assert g.wait_turn(stopping) == 0.0
    assert stopping.waits == []


def test_waits_until_the_burst_is_over() -> None:
    clock = Clock()
    g, stopping = gate(clock), Stopping(clock)
    g.saw(2000)
    assert g.busy
    clock.now += 0.25
    assert abs(g.wait_turn(stopping) - 0.75) < 1e-9  # the rest of hold_s
    assert not g.busy


def test_a_long_burst_is_waited_out_at_most_max_wait_then_caught_up() -> None:
    clock = Clock()
    g, stopping = gate(clock), Stopping(clock)

    def keep_busy(timeout: float | None = None) -> bool:
        stopping.waits.append(timeout or 0.0)
        clock.now += timeout or 0.0
        g.saw(2000)  # the mail consumer keeps taking full polls
        return False

    stopping.wait = keep_busy  # type: ignore[method-assign]
    g.saw(2000)
    assert abs(g.wait_turn(stopping) - 10.0) < 1e-6
    # Then no more waiting while the operations consumer reads full polls...
    g.polled(2000, 2000)
    assert g.wait_turn(stopping) == 0.0
    # ...until a poll short of a full one says it has caught up: it waits again.
    g.polled(150, 2000)
    assert g.wait_turn(stopping) > 0.0


def test_stopping_ends_the_wait() -> None:
    clock = Clock()
    g, stopping = gate(clock), Stopping(clock)
    g.saw(5000)
    stopping.set()
    assert g.wait_turn(stopping) == 0.0
