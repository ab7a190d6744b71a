"""The dry run: today's rules on selected raw mail, against the directory as it is now,
compared with the recorded outcomes. It reads topics and blobs and writes nothing: no
blob (the attachments a real run would store are not extracted), no record, no row.

Rule 7 runs on copies of the router's ledger tables, mail after mail, so two replayed
mails of a client with one incident left show one ticket and one refusal, as the
router would decide them.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from kernel.blobs import BlobStore
from kernel.config import Settings
from schemas.events import Decision, GatewayEntry, GatewaySnapshot, Outcome, RawEmail, utcnow
from schemas.raw import raw_bytes
from schemas.replay import (
    NO_OUTCOME,
    GoneMail,
    MatrixCell,
    ReplayReport,
    ReplayRow,
    ReplaySelection,
)
from services.router.directory import InMemoryDirectory
from services.router.ledger import Ledger
from services.router.pipeline import RULES, Router, decide
from services.router.replay import reading
from services.router.rules import incidents, parse
from services.router.rules.base import Action, Context, Verdict


def current_raw(raw: RawEmail, gateways: dict[str, GatewayEntry]) -> tuple[RawEmail, str]:
    """The raw email with its gateway's settings as they are now (and a note if the
    gateway is gone, when the settings stamped at fetch time stay)."""
    gw = gateways.get(raw.gateway_id)
    if gw is None:
        return raw, "gateway deleted: its settings at fetch time apply"
    now = GatewaySnapshot(
        address=gw.address, department_id=gw.department_id, extra_addresses=gw.extra_addresses
    )
    return (raw, "") if now == raw.gateway else (raw.model_copy(update={"gateway": now}), "")


@dataclass
class Snapshot:
    """Everything a replay decides against, read once."""

    directory: InMemoryDirectory
    gateways: dict[str, GatewayEntry]
    outcomes: dict[str, Outcome]
    ledger: reading.LedgerState

    @classmethod
    def read(cls, settings: Settings) -> Snapshot:
        return cls(
            reading.read_directory(settings),
            reading.read_gateways(settings),
            reading.read_outcomes(settings),
            reading.read_ledger(settings),
        )


@dataclass
class DryRun:
    """Decides mail after mail; `report()` sums up. `to_apply` keeps the raw emails an
    applied replay would send (with today's gateway settings)."""

    settings: Settings
    snapshot: Snapshot
    selection: ReplaySelection
    replay_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    requested_by: str = ""
    rules: tuple[ModuleType, ...] = RULES
    keep_raw: bool = False
    now: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        s = self.settings
        self.report_ = ReplayReport(
            replay_id=self.replay_id, requested_by=self.requested_by, selection=self.selection
        )
        blobs = BlobStore(Path(s.blob_dir or s.var_dir / "blobs"))
        self.router = Router(
            self.snapshot.directory, s.ticket_key.get_secret_value().encode(), blobs,
            notice_window_s=s.notice_window_s, limits=s.mail_limits,
        )  # fmt: skip
        led = self.snapshot.ledger
        self.ledger = Ledger(dict(led.balances), dict(led.grants), dict(led.charges),
                             dict(led.notices))  # fmt: skip
        self.seen: set[str] = set()
        self.matrix: Counter[tuple[str, str]] = Counter()
        self.counts: Counter[str] = Counter()
        self.to_apply: dict[str, RawEmail] = {}
        sel = self.selection
        self._gateways = set(sel.gateways)
        self._emails = set(sel.email_ids)
        self._decisions = set(sel.decisions)

    # ------------------------------------------------------------ selection

    def record(self, record: Any) -> None:
        """One mail.raw record: selected or not, then decided (a reading.Handler)."""
        self.report_.scanned += 1
        key = (record.key or b"").decode("utf-8", "replace")
        if self._gateways and key not in self._gateways:
            return
        try:
            raw = RawEmail.model_validate_json(record.value or b"")
        except ValueError as exc:
            self._gone(GoneMail(email_id=f"{record.partition}@{record.offset}", gateway_id=key,
                                why=f"not a RawEmail: {str(exc)[:200]}"))  # fmt: skip
            return
        if raw.email_id in self.seen or not self._selected(raw.email_id, raw.gateway_id):
            return  # a mail published twice (an aborted fetch) is decided once
        self.seen.add(raw.email_id)
        self.decide(raw)

    def _selected(self, email_id: str, gateway_id: str) -> bool:
        if self._emails and email_id not in self._emails:
            return False
        if self._gateways and gateway_id not in self._gateways:
            return False
        if self._decisions:
            old = self.snapshot.outcomes.get(email_id)
            return (old.decision.value if old else NO_OUTCOME) in self._decisions
        return True

    # ------------------------------------------------------------ deciding

    def decide(self, raw: RawEmail) -> ReplayRow | GoneMail:
        old = self.snapshot.outcomes.get(raw.email_id)
        old_decision = old.decision.value if old else NO_OUTCOME
        try:
            data = raw_bytes(raw, self.router.blobs)  # type: ignore[arg-type]
        except Exception as exc:  # noqa: BLE001 - a missing or corrupt blob is a finding
            gone = GoneMail(email_id=raw.email_id, gateway_id=raw.gateway_id,
                            received_at=raw.fetched_at, old_decision=old_decision,
                            why=f"raw bytes unavailable: {type(exc).__name__}: {exc}")  # fmt: skip
            self._gone(gone)
            return gone
        now_raw, note = current_raw(raw, self.snapshot.gateways)
        got = parse.read(data, self.router.limits)
        mail = None if isinstance(got, Verdict) else got
        ctx = Context(raw=now_raw, directory=self.snapshot.directory,
                      ticket_key=self.router.ticket_key)  # fmt: skip
        verdict = got if isinstance(got, Verdict) else decide(got, ctx, self.rules)
        decision, rule = verdict.decision, verdict.rule
        reason, ticket_id = Router._reason(verdict, ctx), verdict.ticket_id  # noqa: SLF001
        kept = self.snapshot.directory.ticket_for_email(raw.email_id)
        if kept:
            note = f"in ticket {kept} already: not decided again"
        elif mail is not None and verdict.action is Action.OPEN_TICKET:
            req = self.router.charge_request(now_raw, mail, verdict)
            settled, _ = incidents.check(
                req.model_copy(update={"replay_id": self.replay_id}), self.ledger,
                self.now, self.router.notice_window_s,
            )  # fmt: skip
            decision, rule, reason = settled.decision, settled.rule, settled.reason
            ticket_id = settled.ticket_id
        changed = decision.value != old_decision
        action = "keep" if kept and changed else ("apply" if changed else "unchanged")
        self.matrix[(old_decision, decision.value)] += 1
        self.counts[action] += 1
        row = ReplayRow(
            email_id=raw.email_id, gateway_id=raw.gateway_id,
            from_address=mail.from_address if mail else "",
            subject=mail.subject[:300] if mail else "",
            received_at=raw.fetched_at, old_decision=old_decision,
            old_rule=old.rule if old else "", old_reason=old.reason if old else "",
            new_decision=decision.value, new_rule=rule, new_reason=reason,
            ticket_id=ticket_id or kept, action=action, note=note,
        )  # fmt: skip
        if changed:
            self.report_.changed.append(row)
        if action == "apply" and self.keep_raw:
            self.to_apply[raw.email_id] = now_raw
        return row

    def _gone(self, gone: GoneMail) -> None:
        self.counts["gone"] += 1
        self.report_.gone.append(gone)

    # ------------------------------------------------------------ the end

    def missing_from_raw(self) -> None:
        """Recorded outcomes the selection names whose raw record is no longer on mail.raw."""
        sel = self.selection
        for email_id, outcome in self.snapshot.outcomes.items():
            if email_id in self.seen or not self._selected(email_id, outcome.gateway_id):
                continue
            if not self._emails and not _within(outcome.decided_at, sel.since, sel.until):
                continue
            self.seen.add(email_id)
            self._gone(GoneMail(email_id=email_id, gateway_id=outcome.gateway_id,
                                old_decision=outcome.decision.value,
                                why="no record on mail.raw (past its retention?)"))  # fmt: skip

    def report(self, seconds: float) -> ReplayReport:
        r = self.report_
        r.selected = sum(self.counts.values())
        r.counts = dict(self.counts)
        r.matrix = [MatrixCell(old=o, new=n, count=c) for (o, n), c in sorted(self.matrix.items())]
        r.seconds = seconds
        r.finished_at = utcnow()
        return r


def _within(at: datetime, since: datetime | None, until: datetime | None) -> bool:
    return (since is None or at >= since) and (until is None or at < until)


def dry_run(
    settings: Settings,
    selection: ReplaySelection,
    *,
    requested_by: str = "",
    rules: tuple[ModuleType, ...] = RULES,
    keep_raw: bool = False,
    snapshot: Snapshot | None = None,
) -> DryRun:
    """Read, decide, report: the whole dry run (`run.report_` holds the report)."""
    t0 = time.monotonic()
    run = DryRun(settings, snapshot or Snapshot.read(settings), selection,
                 requested_by=requested_by, rules=rules, keep_raw=keep_raw)  # fmt: skip
    reading.read_topic(settings.kafka_bootstrap, settings.topics.raw, run.record,
                       since=selection.since, until=selection.until)  # fmt: skip
    run.missing_from_raw()
    run.report(time.monotonic() - t0)
    return run


__all__ = ["Decision", "DryRun", "Snapshot", "current_raw", "dry_run"]
