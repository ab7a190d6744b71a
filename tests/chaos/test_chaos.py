"""The bounded chaos run (issue 12, item 7) in `make test`: about 400 mails of seven
kinds through two instances of each service, with random SIGKILLs, one broker SIGKILL
and one database stop; every count must be exact. `make chaos` runs the long version.

The run starts its own broker, PostgreSQL (synchronous_commit=on), Dovecot and SMTP
sink: it kills and stops them, so it shares none with other tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.chaos.run import ChaosConfig
from bench.chaos.scenario import run_chaos

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("chaos")]


def test_chaos_loses_and_doubles_nothing(tmp_path: Path) -> None:
    cfg = ChaosConfig.from_env(mails=400, minutes=1.0, seed=7, drain_timeout_s=240.0)
    result = run_chaos(cfg, tmp_path)
    print("\n".join(result.events))
    print(result.report())
    assert result.failures == [], result.report()
    assert result.figures.kills >= 4  # random kills plus one of each service in the outage
    # every service started while the broker was down reported running after its return
    assert set(result.figures.broker_return_s) == {
        "store-1", "router-1", "fetcher-1", "mailer-1"
    }  # fmt: skip
    # ... within 15 s of it (issue 12; 0-5 s measured on this 2-core machine)
    assert max(result.figures.broker_return_s.values()) <= 15.0, result.report()
