"""What every CLI module shares: the database, printing rows, hiding passwords."""

from __future__ import annotations

import argparse
import json
import signal
from collections.abc import Callable, Iterable

from pydantic import BaseModel
from sqlalchemy.orm import Session

from kernel.config import Settings
from services.ticket_store.domain import text as input_rules


def db(settings: Settings):  # -> services.ticket_store.db.Database
    from services.ticket_store.db import Database

    return Database(settings.database_url, topics=settings.topics)


def redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url


def print_rows(rows: list[dict[str, object]], as_json: bool) -> None:
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


def stop_on_sigterm() -> None:
    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def add_listing(
    add: Callable[..., argparse.ArgumentParser],
    parent: argparse._SubParsersAction,
    help: str,
    build: Callable[[Session], Iterable[BaseModel]],
    columns: tuple[str, ...],
) -> None:
    """A `list` command: the presenters' `*Out` models (as the API and web show them),
    `columns` of them as a table, or all of them with --json."""

    def command(args: argparse.Namespace, settings: Settings) -> int:
        with db(settings).transaction() as s:
            rows = [m.model_dump(mode="json") for m in build(s)]
        if not args.json:
            rows = [{c: _cell(r[c]) for c in columns} for r in rows]
        print_rows(rows, args.json)
        return 0

    add("list", command, help, parent).add_argument("--json", action="store_true")


def _cell(value: object) -> object:
    """One line per row: lists joined, line breaks folded, nothing for None."""
    if isinstance(value, list):
        return ",".join(map(str, value))
    if isinstance(value, str):
        return " ".join(value.splitlines())
    return "" if value is None else value


def checked(rule: Callable[[str], str]) -> Callable[[str], str]:
    """An argparse type applying one of the store's input rules, with its reason: the CLI
    refuses what the API and the web refuse (a second address, CR/LF in a name …)."""

    def convert(value: str) -> str:
        try:
            return rule(value)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from exc

    convert.__name__ = rule.__name__
    return convert


ADDRESS = checked(input_rules.plain_address)
ONE_LINE = checked(input_rules.one_line)
TEXT = checked(input_rules.clean_text)
