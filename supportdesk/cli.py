"""`supportdesk`: one console script, a subcommand per process and per admin task.

The CLI is a composition root: it may wire any service together, while the
services themselves never import each other's internals.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence

from kernel.config import get_settings
from supportdesk import cli_directory, cli_gateway, cli_lmtp, cli_processes, cli_replay, cli_support
from supportdesk.cli_common import redact
from supportdesk.cli_operations import register as register_operations

log = logging.getLogger("supportdesk")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="supportdesk", description=__doc__)
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)

    def add(name: str, fn: Callable[..., int], help: str, parent=sub) -> argparse.ArgumentParser:
        sp = parent.add_parser(name, help=help)
        sp.set_defaults(fn=fn)
        return sp

    for commands in (cli_processes, cli_directory, cli_gateway, cli_support, cli_lmtp, cli_replay):
        commands.register(sub, add)
    register_operations(sub, add)  # dead-letters, mail-log
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Every file the system writes (database, blobs, keys, logs, broker data, mailer
    # ledger) is its user's alone: 0600 files, 0700 directories.
    os.umask(0o077)
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
                f"error: the database at {redact(get_settings().database_url)} is unavailable "
                f"or not migrated (run `supportdesk db upgrade`): {exc.orig}",
                file=sys.stderr,
            )
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
