"""`python -m bench.chaos` (`make chaos`): the long chaos run, with its figures.

Knobs: CHAOS_MAILS (2000), CHAOS_MINUTES (10), CHAOS_SEED (7); CHAOS_DIR keeps the
parts' files and every instance's log there (default: a temp dir, removed on success).
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

from bench.chaos.run import ChaosConfig
from bench.chaos.scenario import run_chaos


def main() -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("chaos").setLevel(logging.INFO)
    logging.getLogger("mail.log").setLevel(logging.ERROR)  # aiosmtpd: a line per command
    cfg = ChaosConfig.from_env(mails=2000, minutes=10.0, drain_timeout_s=600.0)
    work = Path(os.environ.get("CHAOS_DIR") or tempfile.mkdtemp(prefix="chaos-"))
    print(f"chaos: {cfg.mails} mails over {cfg.minutes} min, seed {cfg.seed}, files in {work}")
    result = run_chaos(cfg, work)
    print("\n".join(result.events))
    print(result.report())
    if not result.failures and not os.environ.get("CHAOS_DIR"):
        shutil.rmtree(work, ignore_errors=True)
    return 1 if result.failures else 0


if __name__ == "__main__":
    sys.exit(main())
