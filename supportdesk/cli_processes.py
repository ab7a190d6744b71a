"""`supportdesk up|broker|fetcher|router|store|mailer|db|topics|demo`: the processes."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path

from kernel.config import Settings
from supportdesk.cli_common import redact, stop_on_sigterm
from supportdesk.supervisor import Supervisor


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from services.ticket_store.db import upgrade

    upgrade(settings.database_url)
    print(f"database schema up to date ({redact(settings.database_url)})")
    return 0


def cmd_topics_create(args: argparse.Namespace, settings: Settings) -> int:
    from kernel.topics import ensure_topics

    ensure_topics(settings.kafka_bootstrap, settings)
    print(f"topics ready on {settings.kafka_bootstrap}")
    return 0


def cmd_broker(args: argparse.Namespace, settings: Settings) -> int:
    from supportdesk.broker.cli import main as broker_main

    return broker_main(["run", "--data-dir", str(args.data_dir), "--port", str(args.port)])


def _serve(run: Callable[[Settings], None], settings: Settings) -> int:
    """A service in the foreground until Ctrl-C or SIGTERM, then a clean stop."""
    stop_on_sigterm()
    with contextlib.suppress(KeyboardInterrupt):
        run(settings)
    return 0


def cmd_store(args: argparse.Namespace, settings: Settings) -> int:
    from services.ticket_store.consumer import run_store

    return _serve(run_store, settings)


def cmd_router(args: argparse.Namespace, settings: Settings) -> int:
    from services.router.app import main as router_main

    router_main()
    return 0


def cmd_fetcher(args: argparse.Namespace, settings: Settings) -> int:
    from services.fetcher.worker import Fetcher

    stop_on_sigterm()
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

    return _serve(run_mailer, settings)


def cmd_up(args: argparse.Namespace, settings: Settings) -> int:
    """Everything on one machine: broker, schema, topics, services; Ctrl-C stops it all."""
    from kernel.topics import ensure_topics
    from supportdesk.broker import LocalBroker

    stop_on_sigterm()  # a SIGTERM stops every service as Ctrl-C does
    var = Path(args.var or settings.var_dir).resolve()
    var.mkdir(parents=True, exist_ok=True)
    # Every service started below keeps its files here (see kernel.config.Settings.var_dir).
    os.environ["SUPPORTDESK_VAR_DIR"] = str(var)
    # One instance of each service: the host names them for static group membership.
    os.environ.setdefault("SUPPORTDESK_INSTANCE_NAME", f"{socket.gethostname()}-up")
    supervisor = Supervisor(report=lambda line: print(line, file=sys.stderr, flush=True))
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
        # Raw mail's blobs past mail.raw's retention, removed daily (`supportdesk blobs gc`).
        supervisor.every(24 * 3600, "blobs gc", [*exe, "blobs", "gc"], logs / "blobs-gc.log")
        for name, extra in (
            ("store", []),
            ("router", []),
            ("fetcher", []),
            ("mailer", []),
            ("web", ["--port", str(args.web_port)]),
        ):
            service = supervisor.add(name, [*exe, name, *extra], logs / f"{name}.log")
            print(f"started {name} (log {service.log_path}); restarted with backoff if it exits")
        lmtp_started = _start_lmtp_if_wanted(supervisor, settings, exe, logs)
        lmtp_check_at = time.monotonic() + 10
        print("\nThe pipeline is up. In another shell:")
        print("  .venv/bin/supportdesk tickets list      # tickets made from the demo mail")
        print("  .venv/bin/supportdesk outcomes list     # what became of every mail")
        print("  .venv/bin/supportdesk incoming list     # mail from unknown senders")
        print(f"API: http://127.0.0.1:{args.web_port}/docs")
        print("Press Ctrl-C to stop everything.")
        while True:
            supervisor.check()
            time.sleep(1)
            if not lmtp_started and time.monotonic() >= lmtp_check_at:  # one added since?
                lmtp_started = _start_lmtp_if_wanted(supervisor, settings, exe, logs)
                lmtp_check_at = time.monotonic() + 10
    except KeyboardInterrupt:
        print("\nstopping …")
        return 0
    finally:
        # A second Ctrl-C or SIGTERM must not cut the shutdown short and orphan services.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        supervisor.stop()
        if broker is not None:
            broker.stop()
        if sink is not None:
            sink.stop()


def _start_lmtp_if_wanted(
    supervisor: Supervisor, settings: Settings, exe: list[str], logs: Path
) -> bool:
    """`supportdesk lmtp` under the supervisor once a local gateway is set up for LMTP."""
    from supportdesk.cli_lmtp import lmtp_wanted

    try:
        if not lmtp_wanted(settings):
            return False
    except Exception as exc:  # the database busy or away: ask again at the next check
        print(f"(could not check for LMTP gateways: {type(exc).__name__}: {exc})")
        return False
    service = supervisor.add("lmtp", [*exe, "lmtp"], logs / "lmtp.log")
    print(f"started lmtp (log {service.log_path}): an LMTP gateway is configured")
    return True


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


def cmd_demo_load(args: argparse.Namespace, settings: Settings) -> int:
    load_demo(settings, Path(args.var or settings.var_dir))
    return 0


def load_demo(settings: Settings, var: Path) -> None:
    """Demo data: two departments, John and Gary's clients, a local mailbox with mail."""
    from supportdesk.demo import load

    load(settings, var)


def register(sub: argparse._SubParsersAction, add: Callable[..., argparse.ArgumentParser]) -> None:
    up = add("up", cmd_up, "run everything on this machine")
    up.add_argument(
        "--var", help="where every file goes (default: SUPPORTDESK_VAR_DIR, else ./var)"
    )
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

    db_ = add("db", lambda a, s: 0, "database").add_subparsers(dest="db_cmd", required=True)
    add("upgrade", cmd_db_upgrade, "apply migrations", db_)
    tp = add("topics", lambda a, s: 0, "Kafka topics").add_subparsers(dest="t", required=True)
    add("create", cmd_topics_create, "create missing topics", tp)
    demo = add("demo", lambda a, s: 0, "demo data").add_subparsers(dest="dm", required=True)
    add("load", cmd_demo_load, "load demo data", demo).add_argument("--var")
