"""`supportdesk lmtp`: push delivery from the MTA into `mail.raw` (services.lmtp)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from kernel.config import Settings
from supportdesk.cli_processes import _serve


def cmd_lmtp(args: argparse.Namespace, settings: Settings) -> int:
    from services.lmtp.server import run_lmtp

    return _serve(run_lmtp, settings)


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
    add(
        "lmtp",
        cmd_lmtp,
        "LMTP server the MTA delivers local gateways' mail to (SUPPORTDESK_LMTP_HOST/_PORT)",
    )
