"""`supportdesk gateway …`: manage the incoming mail gateways."""

from __future__ import annotations

import argparse
import getpass
import os
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

from supportdesk.config import Settings


def _db(settings: Settings):  # -> services.ticket_store.db.Database
    from services.ticket_store.db import Database

    return Database(settings.database_url)


def _print_rows(rows: list[dict[str, object]], as_json: bool) -> None:
    from supportdesk.cli import _print_rows as print_rows

    print_rows(rows, as_json)


def cmd_gateway_add(args: argparse.Namespace, settings: Settings) -> int:
    from services.ticket_store import service
    from supportdesk.crypto import encrypt

    password = ""
    if args.protocol != "maildir":
        password = os.environ.get("SUPPORTDESK_GATEWAY_PASSWORD") or getpass.getpass(
            "gateway password: "
        )
    with _db(settings).transaction() as s:
        gw = service.add_gateway(
            s,
            settings.topics,
            actor="cli",
            name=args.name,
            type="local" if args.protocol == "maildir" else "external",
            protocol=args.protocol,
            host=args.host or "",
            port=args.port or 0,
            security=args.security,
            verify_tls=not args.no_verify_tls,
            username=args.username or "",
            password_encrypted=encrypt(settings, password),
            folder=args.folder,
            maildir_path=str(Path(args.maildir).resolve()) if args.maildir else "",
            address=args.address,
            extra_addresses=list(args.extra_address or []),
            department_id=args.department_id,
            poll_interval_s=args.interval,
            after_fetch=args.after_fetch,
            enabled=True,
        )
        print(f"gateway {gw.id}: {gw.name} ({gw.protocol}) → department {gw.department_id}")
    return 0


def cmd_gateway_list(args: argparse.Namespace, settings: Settings) -> int:
    from services.ticket_store.models import Gateway

    with _db(settings).transaction() as s:
        rows = [
            {
                "id": g.id,
                "name": g.name,
                "protocol": g.protocol,
                "server": f"{g.host}:{g.port}" if g.host else g.maildir_path,
                "address": g.address,
                "department": g.department_id,
                "after_fetch": g.after_fetch,
                "enabled": g.enabled,
            }
            for g in s.scalars(select(Gateway).order_by(Gateway.name))
        ]
    _print_rows(rows, args.json)
    return 0


def register(sub: argparse._SubParsersAction, add: Callable[..., argparse.ArgumentParser]) -> None:
    gw = add("gateway", lambda a, s: 0, "mail gateways", sub).add_subparsers(
        dest="g", required=True
    )
    ga = add(
        "add",
        cmd_gateway_add,
        "add a gateway (password from SUPPORTDESK_GATEWAY_PASSWORD or a prompt)",
        gw,
    )
    ga.add_argument("--name", required=True)
    ga.add_argument("--protocol", choices=["imap", "pop3", "maildir"], default="imap")
    ga.add_argument("--host")
    ga.add_argument("--port", type=int)
    ga.add_argument("--security", choices=["tls", "starttls", "none"], default="tls")
    ga.add_argument("--no-verify-tls", action="store_true")
    ga.add_argument("--username")
    ga.add_argument("--folder", default="INBOX")
    ga.add_argument("--maildir")
    ga.add_argument("--address", required=True, help="the gateway's email address")
    ga.add_argument("--extra-address", action="append")
    ga.add_argument("--department-id", type=int, required=True)
    ga.add_argument("--interval", type=int, default=300)
    ga.add_argument("--after-fetch", choices=["mark-read", "delete"], default="mark-read")
    add("list", cmd_gateway_list, "list gateways", gw).add_argument("--json", action="store_true")
