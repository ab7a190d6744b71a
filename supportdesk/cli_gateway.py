"""`supportdesk gateway …`: manage the incoming mail gateways."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from kernel.config import Settings
from supportdesk import cli_oauth2
from supportdesk.cli_common import ADDRESS, ONE_LINE, db, print_rows
from supportdesk.cli_operations import health_columns

# Gateways on this machine: a Maildir the fetcher reads, or LMTP the MTA delivers to.
LOCAL_PROTOCOLS = ("maildir", "lmtp")


def cmd_gateway_add(args: argparse.Namespace, settings: Settings) -> int:
    from kernel.crypto import encrypt
    from services.ticket_store import actions

    password = ""
    if args.protocol not in LOCAL_PROTOCOLS:
        password = _password_from_user()
    with db(settings).unit_of_work(actor="cli") as uow:
        gw = actions.gateways.add_gateway(
            uow,
            name=args.name,
            type="local" if args.protocol in LOCAL_PROTOCOLS else "external",
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


def _health(settings: Settings) -> dict[str, object] | None:
    """Health records from fetcher.state; None when the broker cannot be reached."""
    from services.fetcher.state import load_health

    try:
        return dict(load_health(settings.kafka_bootstrap, settings.topics.fetcher_state, 10))
    except Exception as exc:  # the list is still useful without health
        print(f"(health unavailable: {type(exc).__name__}: {exc})", file=sys.stderr)
        return None


def _ago(moment: datetime | None) -> str:
    if moment is None:
        return "never"
    seconds = int((datetime.now(UTC) - moment).total_seconds())
    return f"{seconds}s ago" if seconds < 120 else f"{seconds // 60}m ago"


def cmd_gateway_list(args: argparse.Namespace, settings: Settings) -> int:
    from services.ticket_store.queries.directory import all_gateways

    health = _health(settings) if not args.no_health else None
    with db(settings).transaction() as s:
        columns = health_columns(s, health) if health is not None else {}
        rows: list[dict[str, object]] = []
        for g in all_gateways(s):
            row: dict[str, object] = {
                "id": g.id,
                "name": g.name,
                "protocol": g.protocol,
                "server": f"{g.host}:{g.port}" if g.host else g.maildir_path or "(LMTP)",
                "address": g.address,
                "department": g.department_id,
                "after_fetch": g.after_fetch,
                "interval": g.poll_interval_s,
                "enabled": g.enabled,
            }
            if health is not None:  # as the gateway-health page shows it
                row.update(columns[g.id])
            rows.append(row)
    print_rows(rows, args.json)
    return 0


def _password_from_user() -> str:
    return os.environ.get("SUPPORTDESK_GATEWAY_PASSWORD") or getpass.getpass("gateway password: ")


def cmd_gateway_edit(args: argparse.Namespace, settings: Settings) -> int:
    from kernel.crypto import encrypt
    from services.ticket_store import actions
    from services.ticket_store.domain.errors import Conflict, NotFound

    changes: dict[str, object] = {}
    simple = {
        "new_name": "name",
        "host": "host",
        "port": "port",
        "security": "security",
        "username": "username",
        "folder": "folder",
        "address": "address",
        "department_id": "department_id",
        "interval": "poll_interval_s",
        "after_fetch": "after_fetch",
    }
    for arg, field in simple.items():
        value = getattr(args, arg)
        if value is not None:
            changes[field] = value
    if args.maildir is not None:
        changes["maildir_path"] = str(Path(args.maildir).resolve())
    if args.extra_address is not None:
        changes["extra_addresses"] = [a for a in args.extra_address if a]
    if args.verify_tls is not None:
        changes["verify_tls"] = args.verify_tls
    if args.enabled is not None:
        changes["enabled"] = args.enabled
    if args.password:
        changes["password_encrypted"] = encrypt(settings, _password_from_user())
    if not changes:
        print("nothing to change", file=sys.stderr)
        return 2
    try:
        with db(settings).unit_of_work(actor="cli") as uow:
            gw = actions.gateways.edit_gateway(uow, args.name, **changes)
            shown = sorted("password" if k == "password_encrypted" else k for k in changes)
            print(f"gateway {gw.id}: {gw.name} updated ({', '.join(shown)})")
    except (NotFound, Conflict, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_gateway_remove(args: argparse.Namespace, settings: Settings) -> int:
    from services.ticket_store import actions
    from services.ticket_store.domain.errors import NotFound

    try:
        with db(settings).unit_of_work(actor="cli") as uow:
            gateway_id = actions.gateways.remove_gateway(uow, args.name)
    except NotFound as exc:
        print(f"error: {exc} not found", file=sys.stderr)
        return 1
    print(f"gateway {gateway_id}: {args.name} removed; fetchers stop polling it")
    return 0


def cmd_gateway_test(args: argparse.Namespace, settings: Settings) -> int:
    """The seed's "Step 2. Gateway parameters" check: connect, log in, count, change nothing."""
    from kernel.crypto import InvalidToken, decrypt
    from services.fetcher.probe import probe
    from services.ticket_store.actions.events import gateway_entry
    from services.ticket_store.domain.errors import NotFound
    from services.ticket_store.queries.gateways import gateway_by_name

    try:
        with db(settings).transaction() as s:
            entry = gateway_entry(gateway_by_name(s, args.name))
    except NotFound as exc:
        print(f"error: {exc} not found", file=sys.stderr)
        return 1
    try:
        password = decrypt(settings, entry.password_encrypted)
        if entry.auth == "oauth2":  # an access token from gateway.tokens (refreshed if due)
            password = cli_oauth2.access_token(settings, entry.gateway_id)
    except cli_oauth2.OAuth2Failure as exc:
        print(f"FAILED {entry.name}: OAuth2: {exc}")
        return 1
    except InvalidToken:
        print(f"FAILED {entry.name}: the stored password cannot be decrypted with this key")
        return 1
    result = probe(entry, password, ca_file=settings.ca_file, timeout=args.timeout)
    print(result.text(entry))
    return 0 if result.ok else 1


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
    ga.add_argument("--name", required=True, type=ONE_LINE)
    ga.add_argument("--protocol", choices=["imap", "pop3", "maildir", "lmtp"], default="imap")
    ga.add_argument("--host", type=ONE_LINE)
    ga.add_argument("--port", type=int)
    ga.add_argument("--security", choices=["tls", "starttls", "none"], default="tls")
    ga.add_argument("--no-verify-tls", action="store_true")
    ga.add_argument("--username", type=ONE_LINE)
    ga.add_argument("--folder", default="INBOX", type=ONE_LINE)
    ga.add_argument("--maildir")
    ga.add_argument("--address", required=True, type=ADDRESS, help="the gateway's email address")
    ga.add_argument("--extra-address", action="append", type=ADDRESS)
    ga.add_argument("--department-id", type=int, required=True)
    ga.add_argument("--interval", type=int, default=300)
    ga.add_argument("--after-fetch", choices=["mark-read", "delete"], default="mark-read")
    gl = add("list", cmd_gateway_list, "list gateways with their fetch health", gw)
    gl.add_argument("--json", action="store_true")
    gl.add_argument("--no-health", action="store_true", help="do not ask Kafka for health")

    ge = add(
        "edit",
        cmd_gateway_edit,
        "change a gateway (--password asks, or reads SUPPORTDESK_GATEWAY_PASSWORD)",
        gw,
    )
    ge.add_argument("name")
    ge.add_argument("--new-name", type=ONE_LINE)
    ge.add_argument("--host", type=ONE_LINE)
    ge.add_argument("--port", type=int)
    ge.add_argument("--security", choices=["tls", "starttls", "none"])
    ge.add_argument("--verify-tls", dest="verify_tls", action="store_true", default=None)
    ge.add_argument("--no-verify-tls", dest="verify_tls", action="store_false")
    ge.add_argument("--username", type=ONE_LINE)
    ge.add_argument("--password", action="store_true", help="set a new password")
    ge.add_argument("--folder", type=ONE_LINE)
    ge.add_argument("--maildir")
    ge.add_argument("--address", type=ADDRESS)
    ge.add_argument("--extra-address", action="append", help="replaces the list; '' clears it")
    ge.add_argument("--department-id", type=int)
    ge.add_argument("--interval", type=int, help="poll interval in seconds (>= 10)")
    ge.add_argument("--after-fetch", choices=["mark-read", "delete"])
    ge.add_argument("--enable", dest="enabled", action="store_true", default=None)
    ge.add_argument("--disable", dest="enabled", action="store_false")

    add("remove", cmd_gateway_remove, "remove a gateway", gw).add_argument("name")
    gt = add("test", cmd_gateway_test, "connect, log in and count mail; changes nothing", gw)
    gt.add_argument("name")
    gt.add_argument("--timeout", type=float, default=20.0)
    cli_oauth2.register(gw, add)  # gateway connect
