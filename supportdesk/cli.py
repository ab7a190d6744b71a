"""`supportdesk`: one console script, a subcommand per process and per admin task.

The CLI is a composition root: it may wire any service together, while the
services themselves never import each other's internals.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from sqlalchemy import select

from kernel.config import Settings, get_settings
from supportdesk import cli_gateway, cli_support

log = logging.getLogger("supportdesk")


def _db(settings: Settings):  # -> services.ticket_store.db.Database
    from services.ticket_store.db import Database

    return Database(settings.database_url, topics=settings.topics)


# ------------------------------------------------------------------ processes


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from services.ticket_store.db import upgrade

    upgrade(settings.database_url)
    print(f"database schema up to date ({_redact(settings.database_url)})")
    return 0


def cmd_topics_create(args: argparse.Namespace, settings: Settings) -> int:
    from kernel.topics import ensure_topics

    ensure_topics(settings.kafka_bootstrap, settings)
    print(f"topics ready on {settings.kafka_bootstrap}")
    return 0


def cmd_broker(args: argparse.Namespace, settings: Settings) -> int:
    from supportdesk import broker

    return broker.main(["run", "--data-dir", str(args.data_dir), "--port", str(args.port)])


def cmd_store(args: argparse.Namespace, settings: Settings) -> int:
    from services.ticket_store.consumer import run_store

    _stop_on_sigterm()
    with contextlib.suppress(KeyboardInterrupt):
        run_store(settings)
    return 0


def cmd_router(args: argparse.Namespace, settings: Settings) -> int:
    from services.router.app import main as router_main

    router_main()
    return 0


def cmd_fetcher(args: argparse.Namespace, settings: Settings) -> int:
    from services.fetcher.worker import Fetcher

    _stop_on_sigterm()
    fetcher = Fetcher(settings)
    try:
        fetcher.run(once=args.once)
    except KeyboardInterrupt:
        pass
    finally:
        fetcher.close()
    return 0


def cmd_mailer(args: argparse.Namespace, settings: Settings) -> int:
    from services.mailer.worker import run_mailer

    _stop_on_sigterm()
    with contextlib.suppress(KeyboardInterrupt):
        run_mailer(settings)
    return 0


def cmd_up(args: argparse.Namespace, settings: Settings) -> int:
    """Everything on one machine: broker, schema, topics, services; Ctrl-C stops it all."""
    from kernel.topics import ensure_topics
    from supportdesk.broker import LocalBroker

    var = Path(args.var)
    var.mkdir(parents=True, exist_ok=True)
    children: list[subprocess.Popen[bytes]] = []
    broker = None
    if not args.external_broker:
        from supportdesk.broker import free_port, port_in_use

        port = args.kafka_port
        if port_in_use(port) or port_in_use(port + 1):
            port = free_port()
            print(f"port {args.kafka_port} is taken; the broker uses {port} instead")
        broker = LocalBroker(var / "kafka", port=port)
        t0 = time.monotonic()
        broker.ensure_jars()
        broker.format()
        broker.start()
        broker.wait_ready(120)
        print(f"Kafka {broker.version} ready at {broker.bootstrap} in {time.monotonic() - t0:.1f}s")
        os.environ["SUPPORTDESK_KAFKA_BOOTSTRAP"] = broker.bootstrap
    sink = None
    if args.demo and "SUPPORTDESK_SMTP_HOST" not in os.environ:
        sink = _demo_smtp_sink(var / "sent-mail")
    settings = Settings()
    try:
        ensure_topics(settings.kafka_bootstrap, settings)
        cmd_db_upgrade(args, settings)
        if args.demo:
            load_demo(settings, var)
        logs = var / "logs"
        logs.mkdir(exist_ok=True)
        exe = [sys.executable, "-m", "supportdesk.cli"]
        for name, extra in (
            ("store", []),
            ("router", []),
            ("fetcher", []),
            ("mailer", []),
            ("web", ["--port", str(args.web_port)]),
        ):
            out = open(logs / f"{name}.log", "ab")  # noqa: SIM115 - lives as long as the child
            children.append(
                subprocess.Popen([*exe, name, *extra], stdout=out, stderr=subprocess.STDOUT)
            )
            print(f"started {name} (pid {children[-1].pid}, log {logs / (name + '.log')})")
        print("\nThe pipeline is up. In another shell:")
        print("  .venv/bin/supportdesk tickets list      # tickets made from the demo mail")
        print("  .venv/bin/supportdesk outcomes list     # what became of every mail")
        print("  .venv/bin/supportdesk incoming list     # mail from unknown senders")
        print(f"API: http://127.0.0.1:{args.web_port}/docs")
        print("Press Ctrl-C to stop everything.")
        while all(c.poll() is None for c in children):
            time.sleep(1)
        dead = [c.args[-1] for c in children if c.poll() is not None]
        print(f"a service stopped: {dead}; stopping the rest", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping …")
        return 0
    finally:
        for c in children:
            if c.poll() is None:
                c.send_signal(signal.SIGTERM)
        for c in children:
            try:
                c.wait(timeout=20)
            except subprocess.TimeoutExpired:
                c.kill()
        if broker is not None:
            broker.stop()
        if sink is not None:
            sink.stop()


def _demo_smtp_sink(maildir: Path):  # -> aiosmtpd.controller.Controller
    """A local SMTP server for the demo: what the mailer sends lands in a Maildir."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Mailbox

    from supportdesk.broker import free_port

    port = free_port()
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    controller = Controller(Mailbox(str(maildir)), hostname="127.0.0.1", port=port)
    controller.start()
    os.environ["SUPPORTDESK_SMTP_HOST"] = "127.0.0.1"
    os.environ["SUPPORTDESK_SMTP_PORT"] = str(port)
    print(f"demo SMTP server on 127.0.0.1:{port}: sent mail lands in {maildir}/new")
    return controller


# ------------------------------------------------------------------ admin


def cmd_department_add(args: argparse.Namespace, settings: Settings) -> int:
    from services.ticket_store import actions

    with _db(settings).unit_of_work(actor="cli") as uow:
        dep = actions.departments.add_department(
            uow,
            args.name,
            show_in_support_center=args.show,
            per_incident=args.per_incident,
            insufficient_notice=args.notice or "",
        )
        print(f"department {dep.id}: {dep.name}")
    return 0


def cmd_department_list(args: argparse.Namespace, settings: Settings) -> int:
    from services.ticket_store.models import Department

    with _db(settings).transaction() as s:
        rows = [
            {
                "id": d.id,
                "name": d.name,
                "show_in_support_center": d.show_in_support_center,
                "per_incident": d.per_incident,
            }
            for d in s.scalars(select(Department).order_by(Department.id))
        ]
    _print_rows(rows, args.json)
    return 0


def cmd_client_add(args: argparse.Namespace, settings: Settings) -> int:
    from services.ticket_store import actions

    with _db(settings).unit_of_work(actor="cli") as uow:
        client = actions.clients.add_client(uow, args.name, args.email)
        print(f"client {client.id}: {client.name} <{', '.join(args.email)}>")
    return 0


def cmd_client_list(args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy import func

    from services.ticket_store.models import Client, IncidentGrant

    with _db(settings).transaction() as s:
        rows = []
        for c in s.scalars(select(Client).order_by(Client.id)):
            balance = s.scalar(
                select(func.coalesce(func.sum(IncidentGrant.amount), 0)).where(
                    IncidentGrant.client_id == c.id
                )
            )
            rows.append(
                {
                    "id": c.id,
                    "name": c.name,
                    "emails": ",".join(e.email for e in c.emails),
                    "incidents_granted": balance,
                }
            )
    _print_rows(rows, args.json)
    return 0


def cmd_incidents_grant(args: argparse.Namespace, settings: Settings) -> int:
    from services.ticket_store import actions

    with _db(settings).unit_of_work(actor="cli") as uow:
        actions.clients.grant_incidents(uow, args.client_id, args.amount, reason=args.reason)
    print(f"granted {args.amount} incident(s) to client {args.client_id}")
    return 0


def cmd_tickets_list(args: argparse.Namespace, settings: Settings) -> int:
    from services.ticket_store.models import Client, Department, Ticket

    with _db(settings).transaction() as s:
        q = (
            select(Ticket, Client.name, Department.name)
            .join(Client, Client.id == Ticket.client_id)
            .join(Department, Department.id == Ticket.department_id)
            .order_by(Ticket.number)
        )
        rows = [
            {
                "number": t.number,
                "id": t.id,
                "department": dep,
                "client": client,
                "status": t.status,
                "subject": t.subject,
                "messages": len(t.messages),
            }
            for t, client, dep in s.execute(q)
        ]
    _print_rows(rows, args.json)
    return 0


def cmd_outcomes_list(args: argparse.Namespace, settings: Settings) -> int:
    from services.ticket_store.models import MailOutcome

    with _db(settings).transaction() as s:
        rows = [
            {
                "email_id": o.email_id,
                "decision": o.decision,
                "rule": o.rule,
                "reason": o.reason,
                "ticket": o.ticket_id or "",
            }
            for o in s.scalars(select(MailOutcome).order_by(MailOutcome.decided_at))
        ]
    _print_rows(rows, args.json)
    return 0


def cmd_incoming_list(args: argparse.Namespace, settings: Settings) -> int:
    from services.ticket_store.models import IncomingEmail

    with _db(settings).transaction() as s:
        rows = [
            {
                "id": i.id,
                "from": i.from_address,
                "subject": i.subject,
                "status": i.status,
                "automatic": i.automatic,
            }
            for i in s.scalars(select(IncomingEmail).order_by(IncomingEmail.id))
        ]
    _print_rows(rows, args.json)
    return 0


def cmd_demo_load(args: argparse.Namespace, settings: Settings) -> int:
    load_demo(settings, Path(args.var))
    return 0


def load_demo(settings: Settings, var: Path) -> None:
    """Demo data: two departments, John and Gary's clients, a local mailbox with mail."""
    from supportdesk.demo import load

    load(settings, var)


# ------------------------------------------------------------------ helpers


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url


def _print_rows(rows: list[dict[str, object]], as_json: bool) -> None:
    if as_json:
        print(json.dumps(rows, default=str, indent=2))
        return
    if not rows:
        print("(none)")
        return
    cols = list(rows[0])
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in cols}
    widths = {c: min(w, 60) for c, w in widths.items()}
    print("  ".join(c.upper().ljust(widths[c]) for c in cols))
    for r in rows:
        print("  ".join(str(r[c])[: widths[c]].ljust(widths[c]) for c in cols))


def _stop_on_sigterm() -> None:
    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="supportdesk", description=__doc__)
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)

    def add(name: str, fn: Callable[..., int], help: str, parent=sub) -> argparse.ArgumentParser:
        sp = parent.add_parser(name, help=help)
        sp.set_defaults(fn=fn)
        return sp

    up = add("up", cmd_up, "run everything on this machine")
    up.add_argument("--var", default="var")
    up.add_argument("--kafka-port", type=int, default=9092)
    up.add_argument("--demo", action="store_true", help="load demo data")
    up.add_argument("--web-port", type=int, default=8000)
    up.add_argument(
        "--external-broker", action="store_true", help="use SUPPORTDESK_KAFKA_BOOTSTRAP"
    )
    br = add("broker", cmd_broker, "run a local single-node Kafka broker")
    br.add_argument("--data-dir", default="var/kafka")
    br.add_argument("--port", type=int, default=9092)
    f = add("fetcher", cmd_fetcher, "take mail from the gateways into mail.raw")
    f.add_argument("--once", action="store_true", help="poll every gateway once and exit")
    add("router", cmd_router, "apply the rules to mail.raw (faust worker)")
    add("store", cmd_store, "persist tickets, incoming emails and outcomes")
    add("mailer", cmd_mailer, "send mail.outbound over SMTP")

    db = add("db", lambda a, s: 0, "database").add_subparsers(dest="db_cmd", required=True)
    add("upgrade", cmd_db_upgrade, "apply migrations", db)
    tp = add("topics", lambda a, s: 0, "Kafka topics").add_subparsers(dest="t", required=True)
    add("create", cmd_topics_create, "create missing topics", tp)

    dep = add("department", lambda a, s: 0, "departments").add_subparsers(dest="d", required=True)
    da = add("add", cmd_department_add, "add a department", dep)
    da.add_argument("name")
    da.add_argument("--show", action="store_true", help="show in the Support center")
    da.add_argument("--per-incident", action="store_true", help="per-incident (paid) support")
    da.add_argument("--notice", help="text of the insufficient-incidents email")
    add("list", cmd_department_list, "list departments", dep).add_argument(
        "--json", action="store_true"
    )

    cl = add("client", lambda a, s: 0, "clients").add_subparsers(dest="c", required=True)
    ca = add("add", cmd_client_add, "add a client", cl)
    ca.add_argument("name")
    ca.add_argument("--email", action="append", required=True)
    add("list", cmd_client_list, "list clients", cl).add_argument("--json", action="store_true")

    inc = add("incidents", lambda a, s: 0, "support incidents").add_subparsers(
        dest="i", required=True
    )
    ig = add("grant", cmd_incidents_grant, "grant (or, negative, take back) incidents", inc)
    ig.add_argument("client_id", type=int)
    ig.add_argument("amount", type=int)
    ig.add_argument("--reason", default="granted by hand")

    cli_gateway.register(sub, add)
    cli_support.register(sub, add)
    tk = add("tickets", lambda a, s: 0, "tickets").add_subparsers(dest="tk", required=True)
    add("list", cmd_tickets_list, "list tickets", tk).add_argument("--json", action="store_true")
    oc = add("outcomes", lambda a, s: 0, "mail outcomes").add_subparsers(dest="o", required=True)
    add("list", cmd_outcomes_list, "what became of each mail", oc).add_argument(
        "--json", action="store_true"
    )
    ie = add("incoming", lambda a, s: 0, "incoming emails").add_subparsers(dest="ie", required=True)
    add("list", cmd_incoming_list, "unknown senders' mail", ie).add_argument(
        "--json", action="store_true"
    )
    demo = add("demo", lambda a, s: 0, "demo data").add_subparsers(dest="dm", required=True)
    add("load", cmd_demo_load, "load demo data", demo).add_argument("--var", default="var")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("kafka").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    try:
        return int(args.fn(args, get_settings()) or 0)
    except Exception as exc:  # admin errors: a clear message, not a traceback
        from sqlalchemy.exc import OperationalError

        from services.ticket_store.domain.errors import Conflict, NotFound

        if isinstance(exc, Conflict | NotFound | ValueError):
            print(f"error: {exc}", file=sys.stderr)
            return 2
        if isinstance(exc, OperationalError):
            print(
                f"error: the database at {_redact(get_settings().database_url)} is unavailable "
                f"or not migrated (run `supportdesk db upgrade`): {exc.orig}",
                file=sys.stderr,
            )
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
