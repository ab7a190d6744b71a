"""The end-to-end benchmark's code path, small: 300 mails in one Dovecot mailbox become
exactly 300 tickets in SQLite through real fetcher, router and store processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.e2e_bench import fill_mailbox, run_e2e
from devtools.dovecot import DovecotServer

MAILS = 300

# A benchmark's code path with a time limit: alone on the machine (make test's serial pass).
pytestmark = pytest.mark.serial


def test_a_mailbox_of_300_mails_becomes_exactly_300_tickets(
    kafka_bootstrap: str, dovecot: DovecotServer, tmp_path: Path
) -> None:
    user = "bench@company.net"
    assert fill_mailbox(dovecot, user, MAILS, size=9000) == MAILS
    result = run_e2e(
        f"sqlite:///{tmp_path / 'store.db'}",
        bootstrap=kafka_bootstrap,
        dovecot=dovecot,
        user=user,
        mails=MAILS,
        work=tmp_path / "run",
        timeout=50,
        router_alone=False,
        partitions=2,
    )
    assert (result.tickets, result.outcomes) == (MAILS, MAILS)
    assert result.seconds > 0 and result.rate > 0
    # Every process did work in the measured window (CPU read from /proc before it exited).
    assert all(result.cpu[name] > 0 for name in ("fetcher", "router", "store")), result.cpu
    assert all("\\Seen" in flags for flags in dovecot.flags(user).values())
