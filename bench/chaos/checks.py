"""After the chaos: every count exact, and the recovery figures from the database."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bench.chaos.mails import EXPECTED, PAID, SUPPORT, ChaosMail
from bench.chaos.run import Timeline
from bench.chaos.setup import Parts, outbox_backlog
from bench.chaos.ticket_events import EventsVerdict, check_ticket_events, read_topic
from schemas.events import MailSource, email_id_for
from services.ticket_store.domain.incidents import incident_balance
from services.ticket_store.models import IncomingEmail, MailOutcome, Message, Ticket

EFFECT_KINDS = ("ticket", "reply", "incoming", "charge")  # kinds that leave a row of their own


@dataclass
class Figures:
    latency_p50: float = 0.0
    latency_p95: float = 0.0
    latency_max: float = 0.0
    longest_behind_s: float = 0.0  # no new outcome row while mail was pending
    # delivered -> its ticket, message or incoming email row (tickets.commands' way)
    effect_p50: float = 0.0
    effect_p95: float = 0.0
    effect_max: float = 0.0
    settled_s: float = 0.0  # last outcome row -> every row, notice and \Seen in place
    broker_return_s: dict[str, float] = field(default_factory=dict)
    kills: int = 0
    ticket_events: str = ""  # records, events, repeats on tickets.events (EventsVerdict.line)

    def lines(self) -> list[str]:
        back = ", ".join(f"{n} {s:.1f}s" for n, s in sorted(self.broker_return_s.items()))
        return [
            f"mail latency (delivered -> outcome row): p50 {self.latency_p50:.1f}s, "
            f"p95 {self.latency_p95:.1f}s, max {self.latency_max:.1f}s",
            f"ticket/message/incoming row latency: p50 {self.effect_p50:.1f}s, "
            f"p95 {self.effect_p95:.1f}s, max {self.effect_max:.1f}s",
            f"everything settled {self.settled_s:.1f}s after the drain",
            f"longest time the database fell behind with mail pending: "
            f"{self.longest_behind_s:.1f}s",
            f"started during the broker outage -> running after its return: {back or 'none'}",
            f"instances SIGKILLed: {self.kills}",
            *([self.ticket_events] if self.ticket_events else []),
        ]


def email_ids(parts: Parts) -> dict[str, str]:
    """Message-ID (no <>) -> the email id the fetcher gives that mail (gateway + IMAP uid)."""
    out: dict[str, str] = {}
    for mailbox in (SUPPORT, PAID):
        status = parts.dovecot.doveadm("mailbox", "status", "-u", mailbox, "uidvalidity", "INBOX")
        uidvalidity = int(status.split("uidvalidity=")[1].split()[0])
        rows = parts.dovecot.doveadm(
            "-f", "tab", "fetch", "-u", mailbox, "uid hdr.message-id", "mailbox", "INBOX", "all"
        )  # fmt: skip
        for line in rows.splitlines()[1:]:
            if not line.strip():
                continue
            uid, _, mid = line.partition("\t")
            source = MailSource(protocol="imap", uidvalidity=uidvalidity, uid=int(uid))
            out[mid.strip().strip("<>")] = email_id_for(parts.gateways[mailbox], source)
    return out


def unseen(parts: Parts) -> int:
    return sum(
        "\\Seen" not in flags
        for mailbox in (SUPPORT, PAID)
        for flags in parts.dovecot.flags(mailbox).values()
    )


def check_counts(parts: Parts, mails: list[ChaosMail], ids: dict[str, str]) -> list[str]:
    """Every failure as one line; an empty list is a perfect run."""
    failures: list[str] = []
    want = {ids.get(m.message_id, f"missing:{m.message_id}"): m for m in mails}
    if len(ids) != len(mails):
        failures.append(f"Dovecot holds {len(ids)} mails, {len(mails)} were delivered")
    db = parts.database()
    try:
        with db.transaction() as s:
            rows = s.execute(select(MailOutcome.email_id, MailOutcome.decision)).all()
            got = dict(rows)
            if len(rows) != len(mails):
                failures.append(f"{len(rows)} outcome rows for {len(mails)} mails")
            lost = [m for e, m in want.items() if e not in got]
            extra = [e for e in got if e not in want]
            if lost:
                failures.append(f"lost (no outcome): {len(lost)}, e.g. {_few(lost)}")
            if extra:
                failures.append(f"outcomes for mail never delivered: {len(extra)}: {extra[:3]}")
            wrong = [
                f"{m.kind} #{m.n}: {got[e]}"
                for e, m in want.items()
                if e in got and got[e] != EXPECTED[m.kind].value
            ]
            if wrong:
                failures.append(f"wrong outcome for {len(wrong)} mails: {wrong[:5]}")
            counts = db_counts(s, parts.payer_id)
    finally:
        db.dispose()
    for what, want_n in expected_counts(parts, mails).items():
        _expect(failures, what, counts[what], want_n)
    domain = PAID.rpartition("@")[2]
    notices = {
        f"<insufficient.{ids.get(m.message_id)}@{domain}>" for m in mails if m.kind == "notice"
    }
    sent = Counter(parts.smtp.message_ids())
    doubled = {mid: n for mid, n in sent.items() if n > 1}
    if doubled:
        failures.append(f"notices sent more than once: {len(doubled)}: {list(doubled.items())[:3]}")
    if set(sent) != notices:
        failures.append(
            f"notices at the sink: {len(set(sent) & notices)} of {len(notices)} expected, "
            f"{len(set(sent) - notices)} unexpected ({sorted(set(sent) - notices)[:3]})"
        )
    left = unseen(parts)
    if left:
        failures.append(f"{left} mails without \\Seen")
    return failures


def check_events(parts: Parts, drain_s: float = 90.0) -> EventsVerdict:
    """tickets.events against the tickets in the database, once the outbox has drained:
    one pass over the topic. Repeats of an event are counted, not failed (at least once)."""
    assert parts.settings is not None
    deadline = time.time() + drain_s
    while (pending := outbox_backlog(parts)) and time.time() < deadline:
        time.sleep(1)
    db = parts.database()
    try:
        with db.transaction() as s:
            tickets = dict(s.execute(select(Ticket.id, Ticket.event_sequence)).tuples().all())
    finally:
        db.dispose()
    try:
        records = read_topic(parts.settings.kafka_bootstrap, parts.settings.topics.ticket_events)
    except Exception as exc:  # the run reports it with everything else
        return EventsVerdict(failures=[f"tickets.events not read to its end: {exc!r}"])
    verdict = check_ticket_events(tickets, records)
    if pending:
        verdict.failures.insert(0, f"outbox rows still pending {drain_s:.0f}s on: {pending}")
    return verdict


def db_counts(s: Session, payer_id: int) -> dict[str, int]:
    def count(model: type, *where: object) -> int:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    return {
        "tickets from mail": count(Ticket, Ticket.source_email_id.isnot(None)),
        "charged tickets": count(Ticket, Ticket.charged),
        "payer's incident balance": incident_balance(s, payer_id),
        "messages from mail": count(Message, Message.source_email_id.isnot(None)),
        "incoming emails": count(IncomingEmail),
    }


def expected_counts(parts: Parts, mails: list[ChaosMail]) -> dict[str, int]:
    kinds = Counter(m.kind for m in mails)
    return {
        "tickets from mail": kinds["ticket"] + kinds["charge"],
        "charged tickets": kinds["charge"],
        "payer's incident balance": parts.granted - kinds["charge"],
        "messages from mail": kinds["ticket"] + kinds["charge"] + kinds["reply"],
        "incoming emails": kinds["incoming"],
    }


def wait_settled(parts: Parts, mails: list[ChaosMail], timeout: float = 180) -> float:
    """Tickets, messages and incoming emails (tickets.commands), notices at the sink and
    \\Seen come a little after the outcome rows; seconds it took (timeout: as it stands)."""
    notices = sum(m.kind == "notice" for m in mails)
    want = expected_counts(parts, mails)
    started = time.time()
    db = parts.database()
    try:
        while time.time() - started < timeout:
            with db.transaction() as s:
                rows = db_counts(s, parts.payer_id) == want
            if rows and len(set(parts.smtp.message_ids())) >= notices and unseen(parts) == 0:
                break
            time.sleep(1)
    finally:
        db.dispose()
    return time.time() - started


def figures(tl: Timeline, mails: list[ChaosMail], ids: dict[str, str]) -> Figures:
    latencies = sorted(
        tl.seen[ids[m.message_id]] - tl.delivered[m.message_id]
        for m in mails
        if m.message_id in ids and ids[m.message_id] in tl.seen and m.message_id in tl.delivered
    )
    effects = sorted(
        tl.effect_seen[ids[m.message_id]] - tl.delivered[m.message_id]
        for m in mails
        if m.kind in EFFECT_KINDS and ids.get(m.message_id) in tl.effect_seen
    )
    fig = Figures(kills=tl.kills, broker_return_s=dict(tl.running_after_broker))
    if latencies:
        fig.latency_p50 = _pct(latencies, 0.50)
        fig.latency_p95 = _pct(latencies, 0.95)
        fig.latency_max = latencies[-1]
    if effects:
        fig.effect_p50 = _pct(effects, 0.50)
        fig.effect_p95 = _pct(effects, 0.95)
        fig.effect_max = effects[-1]
    fig.longest_behind_s = longest_behind(tl.samples)
    return fig


def longest_behind(samples: list[tuple[float, int, int | None]]) -> float:
    """Longest stretch with mail delivered but not decided and no new outcome row."""
    longest, since, done = 0.0, None, 0
    for t, delivered, count in samples:
        if count is not None and count > done:
            done = count
            since = t if delivered > done else None
        elif delivered > done and since is None:
            since = t
        if since is not None:
            longest = max(longest, t - since)
    return longest


def _pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))]


def _expect(failures: list[str], what: str, got: int | None, want: int) -> None:
    if got != want:
        failures.append(f"{what}: {got}, expected {want}")


def _few(lost: list[ChaosMail]) -> str:
    return ", ".join(f"{m.kind} #{m.n}" for m in lost[:5])
