"""`supportdesk dead-letters …` and `supportdesk mail-log`: operations from the shell, over
the same queries, presenters and reprocessing as the web pages; and the health columns
of `supportdesk gateway list`."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime

from kernel.config import Settings
from supportdesk.cli_common import db, print_rows


def _ago(moment: datetime | None) -> str:
    if moment is None:
        return "never"
    seconds = int((datetime.now(UTC) - moment).total_seconds())
    return f"{seconds}s ago" if seconds < 120 else f"{seconds // 60}m ago"


def health_columns(session: object, kafka_health: Mapping[str, object] | None) -> dict[str, dict]:
    """Per gateway id, the gateway-health page's columns. The fetchers' own records (read
    from fetcher.state just now) win over the store's copy, which may lag behind."""
    from services.ticket_store.actions.operations import HealthReport
    from services.ticket_store.models_operations import GatewayHealthRecord
    from services.ticket_store.presenters.operations import gateway_health_out
    from services.ticket_store.queries.gateway_health import gateway_facts
    from services.ticket_store.timestamps import utcnow

    now = utcnow()
    columns = {}
    for f in gateway_facts(session, now):  # type: ignore[arg-type]
        live = (kafka_health or {}).get(f.gateway.id)
        if live is not None:
            r = HealthReport.model_validate(live, from_attributes=True)
            record = GatewayHealthRecord(
                **r.model_dump(exclude={"updated_at", "schema_version", "name"})
            )
            record.reported_at = r.updated_at
            f = type(f)(**{**vars(f), "health": record})
        h = gateway_health_out(f, now)
        columns[h.gateway_id] = {
            "status": "not polled yet" if h.state == "never reported" else h.state,
            "mode": h.mode,
            "last_poll": _ago(h.last_poll),
            "last_success": _ago(h.last_success),
            "failures": h.consecutive_failures,
            "mails": f.health.mails_taken if f.health else 0,
            "mails_hour": h.mails_last_hour,
            "mails_day": h.mails_last_day,
            "lag": f"{h.undecided} waiting, {h.lag_s}s" if h.undecided else "none",
            "stale": h.stale,
            "last_error": h.last_error,
            "fetcher": h.fetcher,
        }
    return columns


# ------------------------------------------------------------------ dead letters


def cmd_dead_list(args: argparse.Namespace, settings: Settings) -> int:
    from services.ticket_store.presenters.operations import dead_letter_out
    from services.ticket_store.queries.dead_letters import dead_letters

    with db(settings).transaction() as s:
        rows = [
            dead_letter_out(r).model_dump(mode="json")
            for r in dead_letters(s, args.status, 0, args.limit)
        ]
    if not args.json:
        cols = ("id", "last_at", "email_id", "stage", "status", "result", "occurrences", "reason")
        rows = [{c: r[c] for c in cols} for r in rows]
    print_rows(rows, args.json)
    return 0


def cmd_dead_show(args: argparse.Namespace, settings: Settings) -> int:
    from services.ticket_store.presenters.operations import dead_letter_out
    from services.ticket_store.queries.dead_letters import dead_letter

    with db(settings).transaction() as s:
        row = dead_letter(s, args.id)
        if row is None:
            raise ValueError(f"no dead letter {args.id}")
        shown = dead_letter_out(row).model_dump(mode="json")
    for name, value in shown.items():
        print(f"{name:16} {value}")
    return 0


def cmd_dead_reprocess(args: argparse.Namespace, settings: Settings) -> int:
    from services.ticket_store.consumer.reprocess import reprocess
    from services.ticket_store.queries.dead_letters import dead_letters

    with db(settings).unit_of_work(actor="cli") as uow:
        ids = list(args.ids)
        if args.all_open:
            ids += [r.id for r in dead_letters(uow.session, "open", 0, 100_000)]
        if not ids:
            raise ValueError("name dead letters by id, or --all-open")
        results = reprocess(uow, settings, ids)
    print_rows([vars(r) for r in results], args.json)
    failed = [r for r in results if r.status not in ("reprocessing", "resolved")]
    return 1 if failed else 0


# ------------------------------------------------------------------ mail log


def cmd_mail_log(args: argparse.Namespace, settings: Settings) -> int:
    from services.ticket_store.presenters.operations import mail_log_row_out
    from services.ticket_store.queries.mail_log import MailLogFilter, mail_log

    f = MailLogFilter(
        sender=args.sender, subject=args.subject, gateway=args.gateway,
        decision=args.decision, rule=args.rule, since=args.since, until=args.until,
    )  # fmt: skip
    with db(settings).transaction() as s:
        rows = [
            mail_log_row_out(r).model_dump(mode="json")
            for r in mail_log(s, f, args.offset, args.limit)
        ]
    if not args.json:
        cols = ("decided_at", "email_id", "from_address", "subject", "gateway_id", "decision",
                "rule")  # fmt: skip
        rows = [{c: r[c] for c in cols} for r in rows]
    print_rows(rows, args.json)
    return 0


def register(sub: argparse._SubParsersAction, add: Callable[..., argparse.ArgumentParser]) -> None:
    from services.ticket_store.queries.dead_letters import STATUSES

    dl = add("dead-letters", lambda a, s: 0, "dead letters: list, show, reprocess", sub)
    dls = dl.add_subparsers(dest="dead_command", required=True)
    ls = add("list", cmd_dead_list, "dead letters, open ones first", dls)
    ls.add_argument("--status", choices=STATUSES, default="open")
    ls.add_argument("--limit", type=int, default=100)
    ls.add_argument("--json", action="store_true")
    add("show", cmd_dead_show, "one dead letter", dls).add_argument("id", type=int)
    rp = add("reprocess", cmd_dead_reprocess, "reprocess dead letters after a fix", dls)
    rp.add_argument("ids", type=int, nargs="*")
    rp.add_argument("--all-open", action="store_true", help="every open dead letter")
    rp.add_argument("--json", action="store_true")

    ml = add("mail-log", cmd_mail_log, "every mail's outcome, newest first", sub)
    for name in ("sender", "subject", "gateway", "decision", "rule"):
        ml.add_argument(f"--{name}", default="")
    ml.add_argument("--since", type=date.fromisoformat, default=None, help="YYYY-MM-DD")
    ml.add_argument("--until", type=date.fromisoformat, default=None, help="YYYY-MM-DD")
    ml.add_argument("--offset", type=int, default=0)
    ml.add_argument("--limit", type=int, default=50)
    ml.add_argument("--json", action="store_true")
