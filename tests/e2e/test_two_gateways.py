"""One mail to two monitored addresses is one ticket, in the first To gateway's department.

Two real Dovecot mailboxes (sales@ and tech@), two IMAP gateways polled by the
real fetcher, the real broker, faust router and store on PostgreSQL. Copies
arrive together, one Cc'd, or one after the other in either order; an unknown
sender's copies make one incoming email.
"""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage

import pytest
from sqlalchemy import func, select

from kernel.crypto import encrypt
from services.fetcher.directory import read_gateways
from services.ticket_store import actions
from services.ticket_store.db import Database
from services.ticket_store.models import IncomingEmail, MailOutcome, Message, Ticket
from tests.fixtures.dovecot import DovecotServer
from tests.fixtures.pipeline import Pipeline, wait_until

SALES, TECH = "sales@company.net", "tech@company.net"
PASSWORD = "secret"


@pytest.fixture
def pipeline_database_url(postgres_database_url: str) -> str:
    return postgres_database_url


def _mail(n: int, to: str, cc: str = "", sender: str = "Alice <alice@example.org>") -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = f"Mail {n}"
    msg["Message-ID"] = f"<two-gateways-{n}@example.org>"
    msg.set_content(f"Body of mail {n}")
    return bytes(msg)


def test_one_mail_to_two_gateways_is_one_ticket(
    pipeline: Pipeline, dovecot_factory: Callable[..., DovecotServer]
) -> None:
    dovecot = dovecot_factory(default_user=False, start=False)
    dovecot.add_users({SALES: PASSWORD, TECH: PASSWORD})
    dovecot.start()
    settings = pipeline.settings.model_copy(update={"ca_file": str(dovecot.ca_path)})
    pipeline.settings = settings
    pipeline.env["SUPPORTDESK_CA_FILE"] = str(dovecot.ca_path)
    db = Database(settings.database_url, topics=settings.topics)
    with db.unit_of_work() as uow:
        sales = actions.departments.add_department(uow, "Sales")
        tech = actions.departments.add_department(uow, "Technical support")
        actions.clients.add_client(uow, "Alice", ["alice@example.org"])
        gateway_ids = {}
        for user, dep in ((SALES, sales), (TECH, tech)):
            gw = actions.gateways.add_gateway(
                uow, name=user, type="external", protocol="imap", host="127.0.0.1",
                port=dovecot.imaps_port, security="tls", verify_tls=True, username=user,
                password_encrypted=encrypt(settings, PASSWORD), address=user,
                department_id=dep.id, poll_interval_s=10,
            )  # fmt: skip
            gateway_ids[user] = gw.id
        dept = {SALES: sales.id, TECH: tech.id}

    pipeline.start("store")
    pipeline.start("router")
    wait_until(
        lambda: (
            set(gateway_ids.values())
            <= set(read_gateways(settings.kafka_bootstrap, settings.topics.gateways))
        ),
        60,
        "both gateways on directory.gateways",
    )

    def fetch() -> None:
        done = pipeline.run("fetcher", "--once")
        assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()

    def outcomes() -> dict[str, list[str]]:
        """Gateway address -> the decisions on its copies, in no particular order."""
        by_gateway = {v: k for k, v in gateway_ids.items()}
        with db.transaction() as s:
            rows = s.execute(select(MailOutcome.gateway_id, MailOutcome.decision)).all()
        out: dict[str, list[str]] = {SALES: [], TECH: []}
        for gid, decision in rows:
            out[by_gateway[gid]].append(decision)
        return {k: sorted(v) for k, v in out.items()}

    def settled(count: int) -> dict[str, list[str]]:
        return wait_until(
            lambda: (o := outcomes()) and sum(map(len, o.values())) == count and o,
            90,
            f"{count} outcomes",
        )

    def tickets() -> dict[str, int]:
        """Subject -> department of every ticket."""
        with db.transaction() as s:
            return dict(s.execute(select(Ticket.subject, Ticket.department_id)).all())

    def has_tickets(expected: dict[str, int]) -> None:
        wait_until(lambda: tickets() == expected, 60, f"tickets {expected}")

    def incoming() -> list[tuple[int, str]]:
        with db.transaction() as s:
            return list(s.execute(select(IncomingEmail.department_id, IncomingEmail.subject)))

    # Round 1. Mail 1: both in To, fetched together -> the first To address's department.
    # Mail 2: Cc'd to the second gateway, whose copy is not To it (ignored_recipient).
    # Mails 3 and 4: one copy now (3 through tech, 4 through sales), the other in round 2.
    # Mail 5: an unknown sender to both -> one incoming email.
    both = _mail(1, f"Tech <{TECH.upper()}>, {SALES}")
    cc = _mail(2, SALES, cc=TECH)
    tech_first, sales_first = _mail(3, f"{SALES}, {TECH}"), _mail(4, f"{SALES}, {TECH}")
    stranger = _mail(5, f"{TECH}, {SALES}", sender="Bob <bob@example.com>")
    for mail in (both, cc, sales_first, stranger):
        dovecot.save(SALES, mail)
    for mail in (both, cc, tech_first, stranger):
        dovecot.save(TECH, mail)
    fetch()
    got = settled(8)
    assert got[TECH].count("ignored_recipient") == 1  # mail 2's Cc'd copy
    assert sorted(got[SALES] + got[TECH]).count("ticket_opened") == 4
    assert sorted(got[SALES] + got[TECH]).count("duplicate") == 1  # mail 1's second copy
    expected = {
        "Mail 1": dept[TECH],
        "Mail 2": dept[SALES],
        "Mail 3": dept[SALES],  # fetched through tech: sales comes first in To
        "Mail 4": dept[SALES],
    }
    has_tickets(expected)
    assert wait_until(incoming, 30, "the incoming email") == [(dept[TECH], "Mail 5")]

    # Round 2: the other copies of mails 3 and 4 come later, in the other order.
    dovecot.save(SALES, tech_first)
    dovecot.save(TECH, sales_first)
    fetch()
    final = settled(10)
    assert sorted(final[SALES] + final[TECH]).count("duplicate") == 3
    assert tickets() == expected
    with pytest.raises(AssertionError):  # and no second incoming email comes either
        wait_until(lambda: len(incoming()) > 1, 3, "a second incoming email")
    pipeline.assert_running()
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Ticket)) == 4
        assert s.scalar(select(func.count()).select_from(Message)) == 4
        ticket_gateways = dict(s.execute(select(Ticket.subject, Ticket.gateway_id)).all())
    # Replies go out from the home gateway's address.
    assert ticket_gateways["Mail 1"] == gateway_ids[TECH]
    assert ticket_gateways["Mail 3"] == gateway_ids[SALES]
    assert incoming() == [(dept[TECH], "Mail 5")]  # the second copy never made a second one
    db.dispose()
