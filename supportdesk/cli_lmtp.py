"""`supportdesk lmtp`: push delivery from the MTA into `mail.raw` (services.lmtp)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from kernel.config import Settings
from supportdesk.cli_processes import _serve


def cmd_lmtp(args: argparse.Namespace, settings: Settings) -> int:
    from services.lmtp.options import LmtpOptions
    from services.lmtp.server import run_lmtp

    given = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    options = LmtpOptions(**given)  # the flags win over SUPPORTDESK_LMTP_* variables
    return _serve(lambda s: run_lmtp(s, options=options), settings)


def lmtp_wanted(settings: Settings) -> bool:
    """Whether `supportdesk up` should run the LMTP gateway: an enabled gateway uses LMTP."""
    from sqlalchemy import select

    from services.ticket_store.db import Database
    from services.ticket_store.models import Gateway

    db = Database(settings.database_url)
    try:
        with db.transaction() as s:
            query = select(Gateway.id).where(Gateway.protocol == "lmtp", Gateway.enabled)
            return s.scalar(query.limit(1)) is not None
    finally:
        db.dispose()


def register(sub: argparse._SubParsersAction, add: Callable[..., argparse.ArgumentParser]) -> None:
    p = add(
        "lmtp",
        cmd_lmtp,
        "LMTP server the MTA delivers local gateways' mail to (SUPPORTDESK_LMTP_HOST/_PORT)",
    )
    p.add_argument("--host", help="listen address (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="listen port (default 2424)")
