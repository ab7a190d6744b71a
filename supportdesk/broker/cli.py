"""`python -m supportdesk.broker run|fetch`: start a broker, or only fetch its jars."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from supportdesk.broker.jars import ensure_jars, installed_kafka_version
from supportdesk.broker.process import LocalBroker
from supportdesk.broker.settings import BrokerError


class _Terminate(Exception):
    """Raised from the SIGTERM handler so `run` unwinds through its cleanup."""


def _parse_override(value: str) -> tuple[str, str]:
    if "=" not in value:
        raise argparse.ArgumentTypeError(f"expected key=value, got {value!r}")
    key, val = value.split("=", 1)
    return key.strip(), val.strip()


def _cmd_run(args: argparse.Namespace) -> int:
    broker = LocalBroker(
        Path(args.data_dir),
        port=args.port,
        controller_port=args.controller_port,
        overrides=dict(args.override or []),
    )

    def on_term(signum: int, frame: object) -> None:
        raise _Terminate()

    signal.signal(signal.SIGTERM, on_term)
    # A shell's `cmd &` starts us with SIGINT ignored; Ctrl-C/kill -INT must still stop us.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        broker.ensure_jars()  # a first download is not counted as start time
        broker.start()
        seconds = broker.wait_ready(args.timeout)
        print(
            f"Kafka {broker.version} ready at {broker.bootstrap} (started in {seconds:.1f}s)",
            flush=True,
        )
        while broker.is_running():
            time.sleep(0.5)
        print(
            f"Kafka exited by itself; see {broker.output_path} and {broker.logs_path}",
            file=sys.stderr,
        )
        return 1
    except (KeyboardInterrupt, _Terminate):
        print("stopping Kafka ...", file=sys.stderr, flush=True)
        return 0
    except BrokerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # no second interrupt mid-stop
        broker.stop()


def _cmd_fetch(args: argparse.Namespace) -> int:
    started = time.monotonic()
    try:
        libs = ensure_jars(quiet=not args.verbose)
    except BrokerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"Kafka {installed_kafka_version()} jars in {libs} ({time.monotonic() - started:.1f}s)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point for `python -m supportdesk.broker`."""
    parser = argparse.ArgumentParser(
        prog="python -m supportdesk.broker",
        description="Single-node Apache Kafka (KRaft) from Maven Central jars.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start a broker, wait until ready, stop on Ctrl-C/SIGTERM")
    run.add_argument("--data-dir", default="var/kafka", help="formatted on first use")
    run.add_argument("--port", type=int, default=9092)
    run.add_argument("--controller-port", type=int, default=None, help="default: port + 1")
    run.add_argument("--timeout", type=float, default=120.0, help="readiness timeout, seconds")
    run.add_argument(
        "--override",
        action="append",
        type=_parse_override,
        metavar="KEY=VALUE",
        help="extra server.properties setting (repeatable)",
    )
    run.set_defaults(func=_cmd_run)
    fetch = sub.add_parser("fetch", help="only fetch the jars into deploy/kafka/libs")
    fetch.add_argument("-v", "--verbose", action="store_true", help="show Maven output")
    fetch.set_defaults(func=_cmd_fetch)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("kafka").setLevel(logging.CRITICAL)  # readiness probes are noisy
    return int(args.func(args))
