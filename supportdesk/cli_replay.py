"""`supportdesk replay`: today's rules on raw mail from mail.raw, compared with what was
recorded; a dry run unless --apply. Writes the report as JSON, CSV and HTML.

    supportdesk replay --since 90d                       # a rule change, checked
    supportdesk replay --gateway GW --decision ignored_recipient --apply
    supportdesk replay --email ID --email ID --out reports/
"""

from __future__ import annotations

import argparse
import getpass
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kernel.config import Settings
from schemas.events import Decision
from schemas.replay import NO_OUTCOME, ReplayReport, ReplaySelection
from supportdesk import cli_blobs
from supportdesk.cli_common import db

_RELATIVE = re.compile(r"^(\d+)([dhm])$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def when(value: str) -> datetime:
    """An ISO date or time (UTC unless it says otherwise), or an age: 90d, 12h, 30m."""
    if m := _RELATIVE.match(value.strip()):
        return datetime.now(UTC) - timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
    try:
        at = datetime.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date, time or age (90d): {value!r}") from exc
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def write_report(report: ReplayReport, out: Path) -> list[Path]:
    """replay-<id>.json (the report model), .csv (changed and gone mails), .html."""
    from schemas.replay_html import render_html

    out.mkdir(parents=True, exist_ok=True)
    base = out / f"replay-{report.replay_id}"
    paths = [base.with_suffix(".json"), base.with_suffix(".csv"), base.with_suffix(".html")]
    paths[0].write_text(report.model_dump_json(indent=2) + "\n")
    paths[1].write_text(report.to_csv())
    paths[2].write_text(render_html(report))
    return paths


def run_replay(
    settings: Settings,
    selection: ReplaySelection,
    *,
    apply: bool = False,
    actor: str = "",
    wait_s: float = 120.0,
) -> ReplayReport:
    """A replay, dry or applied (with its audit entry): what the command and a console
    page share. The page lives in the store, which may not import the router, so the
    composition root hands it this function."""
    from services.router.replay import apply as applying
    from services.router.replay.engine import dry_run

    actor = actor or f"cli:{getpass.getuser()}"
    run = dry_run(settings, selection, requested_by=actor, keep_raw=apply)
    report = run.report_
    if not apply:
        return report
    report.mode = "apply"
    since = applying.end_offsets(settings, settings.topics.outcomes)
    sent = applying.send(settings, report.replay_id, run.to_apply.values(), actor)
    report.applied = applying.confirm(settings, report.replay_id, sent, since, wait_s)
    with db(settings).unit_of_work(actor=actor) as uow:
        uow.audit(
            "replay.apply", "replay", report.replay_id,
            selection=selection.model_dump(mode="json"), counts=report.counts,
            matrix=[c.model_dump() for c in report.matrix], applied=report.applied.model_dump(),
        )  # fmt: skip
    return report


def page_runner(
    settings: Settings, wait_s: float = 60.0
) -> Callable[[ReplaySelection, bool, str], ReplayReport]:
    """What `supportdesk web` hands the console's Replay page: `run_replay`, its report kept
    under <var>/replays/ as the command keeps it (where the page lists reports)."""

    def run(selection: ReplaySelection, apply: bool, actor: str) -> ReplayReport:
        report = run_replay(settings, selection, apply=apply, actor=actor, wait_s=wait_s)
        write_report(report, settings.var_dir / "replays")
        return report

    return run


def cmd_replay(args: argparse.Namespace, settings: Settings) -> int:
    selection = ReplaySelection(
        since=args.since, until=args.until, gateways=tuple(args.gateway),
        email_ids=tuple(args.email), decisions=tuple(args.decision),
    )  # fmt: skip
    report = run_replay(settings, selection, apply=args.apply, actor=args.actor or "",
                        wait_s=args.wait)  # fmt: skip
    paths = write_report(report, Path(args.out or settings.var_dir / "replays"))
    print(report.summary())
    for path in paths:
        print(f"  {path}")
    if report.applied is not None and report.applied.unconfirmed:
        print(f"error: {len(report.applied.unconfirmed)} mails not confirmed in {args.wait}s "
              "(is the router running?)")  # fmt: skip
        return 1
    return 0


def register(sub: argparse._SubParsersAction, add: Callable[..., argparse.ArgumentParser]) -> None:
    decisions = [d.value for d in Decision] + [NO_OUTCOME]
    r = add("replay", cmd_replay, "today's rules on raw mail, compared with what was recorded")
    r.add_argument("--since", type=when, help="from (ISO date/time, or an age: 90d, 12h)")
    r.add_argument("--until", type=when, help="up to, not including (same forms)")
    r.add_argument("--gateway", action="append", default=[], metavar="ID", help="repeatable")
    r.add_argument("--email", action="append", default=[], metavar="ID", help="repeatable")
    r.add_argument("--decision", action="append", default=[], choices=decisions,
                   help="recorded decision (repeatable; 'none': no outcome recorded)")  # fmt: skip
    r.add_argument("--apply", action="store_true",
                   help="re-process the changed mails for real (idempotent)")  # fmt: skip
    r.add_argument("--actor", help="who asks, for the audit log (default cli:<user>)")
    r.add_argument("--wait", type=float, default=120.0,
                   help="seconds to wait for the router's outcomes (--apply)")  # fmt: skip
    r.add_argument("--out", help="where the reports go (default <var>/replays)")
    cli_blobs.register(sub, add)  # the blobs replay reads: kept as long as mail.raw's records
