"""One incident authority for every channel (issue 12): a mail and a web/API request racing
for a client's last incident give exactly one ticket and one refusal (a notice email for
the mail, 402 or a refused request for the web), never two tickets.

Real broker, real router and store processes (SQLite), the store's API in process. 20
races (5 clients at a time, each with one incident): two rounds, then the router is
SIGKILLed and a round is fired while it is down (the API answers 202 and is asked again),
then it restarts and a last round runs.
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from schemas.events import OutboundEmail
from services.router.replay.reading import read_ledger, read_topic
from services.ticket_store import actions, auth
from services.ticket_store.db import Database
from services.ticket_store.http import create_app
from services.ticket_store.models import MailOutcome, Ticket
from services.ticket_store.models_operations import DeadLetterRecord
from services.ticket_store.models_ticket_requests import TicketRequest
from tests.fixtures.pipeline import Pipeline, wait_until
from tests.integration.replay.helpers import mail, publish_raw, raw

ADDRESS = "support@company.net"
ROUNDS, PER_ROUND, KILL_BEFORE = 4, 5, 2  # round 2 is fired while the router is down


def _notices(pipeline: Pipeline) -> list[OutboundEmail]:
    got: list[OutboundEmail] = []
    read_topic(pipeline.settings.kafka_bootstrap, pipeline.settings.topics.outbound,
               lambda r: got.append(OutboundEmail.model_validate_json(r.value)))  # fmt: skip
    return [n for n in got if n.kind == "insufficient_incidents"]


def _diagnosis(pipeline: Pipeline, db: Database, missing: list[str]) -> str:
    """What to look at when a web request was never answered: its row, dead letters, logs."""
    with db.transaction() as s:
        requests = s.execute(select(TicketRequest.id, TicketRequest.state)).all()
        letters = s.execute(select(DeadLetterRecord.stage, DeadLetterRecord.reason)).all()
    return (
        f"unanswered: {missing}\nrequests: {requests}\ndead letters: {letters}\n"
        f"--- store\n{pipeline.log('store')}\n--- router\n{pipeline.log('router')}"
    )


def test_mail_and_web_racing_for_the_last_incident(pipeline: Pipeline, tmp_path: Path) -> None:
    settings = pipeline.settings
    db = Database(settings.database_url, topics=settings.topics)
    with db.unit_of_work(actor="cli") as uow:
        dep = actions.departments.add_department(
            uow, "Hosting", show_in_support_center=True, per_incident=True,
            insufficient_notice="Top up your support incidents.",
        )  # fmt: skip
        gw = actions.gateways.add_gateway(
            uow, name="support", type="local", protocol="maildir",
            maildir_path=str(tmp_path / "maildir"), address=ADDRESS, department_id=dep.id,
        )  # fmt: skip
        dep_id, gw_id = dep.id, gw.id
        clients: list[tuple[int, str]] = []
        tokens: dict[str, dict[str, str]] = {}
        for i in range(ROUNDS * PER_ROUND):
            email = f"client{i}@example.org"
            c = actions.clients.add_client(uow, f"Client {i}", [email])
            actions.clients.grant_incidents(uow, c.id, 1, grant_id=f"race-{i}")
            token, _ = auth.issue(uow.session, client=c, kind="bearer")
            tokens[email] = {"Authorization": f"Bearer {token}"}
            clients.append((c.id, email))
    pipeline.start("store")
    pipeline.start("router")
    # Every grant in the router's ledger first: the race is for this one incident.
    wait_until(
        lambda: all(read_ledger(settings).balances.get(str(c)) == 1 for c, _ in clients),
        120, "every client's incident in the router's ledger",
    )  # fmt: skip
    settings.ticket_decision_wait_s = 5.0
    api = TestClient(create_app(settings, db))
    answers: dict[str, int] = {}  # email -> the API's status (after asking again on 202)
    email_ids: dict[str, str] = {}

    def web(email: str) -> None:
        body = {"department_id": dep_id, "subject": "From the web", "text": "Help, please"}
        r = api.post("/api/v1/client/tickets", json=body, headers=tokens[email])
        if r.status_code == 202:  # the router is down: ask again until it answers
            where = r.headers["location"]

            def decided() -> str | None:
                state = api.get(where, headers=tokens[email]).json()["state"]
                return None if state == "pending" else state

            state = wait_until(decided, 120, f"the ledger's answer for {email}", step=0.5)
            answers[email] = 201 if state == "opened" else 402
        else:
            answers[email] = r.status_code

    for n in range(ROUNDS):
        if n == KILL_BEFORE:
            pipeline.stop("router", sig=signal.SIGKILL)
        batch = clients[n * PER_ROUND : (n + 1) * PER_ROUND]
        raws = [raw(gw_id, ADDRESS, dep_id, mail(email, ADDRESS, "By mail")) for _, email in batch]
        email_ids.update({email: r.email_id for (_, email), r in zip(batch, raws, strict=True)})
        threads = [threading.Thread(target=web, args=(email,)) for _, email in batch]
        for t in threads:
            t.start()
        publish_raw(settings, raws)
        if n == KILL_BEFORE:
            time.sleep(2)  # both channels queue up while the router is down
            pipeline.start("router")
        for t in threads:
            t.join(180)
        missing = [email for _, email in batch if email not in answers]
        assert not missing, _diagnosis(pipeline, db, missing)

    def outcomes() -> dict[str, str]:
        with db.transaction() as s:
            rows = s.execute(select(MailOutcome.email_id, MailOutcome.decision)).all()
        return {e: str(d) for e, d in rows}

    wait_until(lambda: set(email_ids.values()) <= set(outcomes()), 120, "every mail's outcome")
    got, notices = outcomes(), _notices(pipeline)
    ledger = read_ledger(settings)
    mail_won = web_won = 0
    with db.transaction() as s:
        for client_id, email in clients:
            tickets = list(s.scalars(select(Ticket).where(Ticket.client_id == client_id)))
            decision = got[email_ids[email]]
            # Distinct notices: after the SIGKILL the router may emit one again, with the
            # same id (the mailer sends each id once).
            notes = sorted({x.outbound_id for x in notices if x.to == email})
            assert len(tickets) == 1 and tickets[0].charged, (email, decision, answers[email])
            if answers[email] == 201:  # the web won: the mail is refused with one notice
                web_won += 1
                assert decision == "insufficient_incidents" and len(notes) == 1, email
                assert tickets[0].source_email_id is None
            else:  # the mail won: the web request is refused, no notice email
                mail_won += 1
                assert answers[email] == 402, (email, answers[email])
                assert decision == "ticket_opened" and notes == [], email
                assert tickets[0].source_email_id == email_ids[email]
            assert ledger.balances[str(client_id)] == 0
        assert s.scalar(select(func.count()).select_from(Ticket)) == len(clients)
    assert mail_won + web_won == ROUNDS * PER_ROUND
    print(f"incident races: mail won {mail_won}, web won {web_won}")  # noqa: T201
    pipeline.assert_running()
    api.close()
    db.dispose()
