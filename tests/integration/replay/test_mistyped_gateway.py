"""A gateway whose address was mistyped: its mail was `ignored_recipient`. Fixed, then
replayed: a dry run that touches nothing (rows, topic offsets, blobs), --apply that makes
the tickets once, and a replay after that finds nothing left to do.

Real broker, real router and store processes, PostgreSQL (the other replay tests: SQLite).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import select

from schemas.events import Outcome
from schemas.replay import ReplayCommand
from services.router.replay.reading import read_gateways, read_topic
from services.ticket_store import actions
from services.ticket_store.db import Database
from services.ticket_store.models import AuditEntry, IncomingEmail, MailOutcome, Ticket
from tests.fixtures.pipeline import Pipeline, wait_until
from tests.integration.replay.helpers import (
    end_offsets,
    files,
    mail,
    matrix,
    publish,
    publish_raw,
    raw,
    replay,
    row_counts,
)

WRONG, RIGHT = "supprot@company.net", "support@company.net"


@pytest.fixture
def pipeline_database_url(postgres_database_url: str) -> str:
    return postgres_database_url


def _decisions(db: Database) -> dict[str, str]:
    with db.transaction() as s:
        return {o.email_id: o.decision for o in s.scalars(select(MailOutcome))}


def test_mistyped_gateway_fixed_then_replayed(pipeline: Pipeline, tmp_path: Path) -> None:
    settings = pipeline.settings
    db = Database(settings.database_url, topics=settings.topics)
    with db.unit_of_work(actor="cli") as uow:
        dep = actions.departments.add_department(uow, "Technical support")
        actions.clients.add_client(uow, "Alice", ["alice@example.org"])
        gw = actions.gateways.add_gateway(
            uow, name="support", type="local", protocol="maildir",
            maildir_path=str(tmp_path / "maildir"), address=WRONG, department_id=dep.id,
        )  # fmt: skip
        dep_id, gw_id = dep.id, gw.id
    pipeline.start("store")
    pipeline.start("router")
    raws = [raw(gw_id, WRONG, dep_id, mail("Alice <alice@example.org>", RIGHT, f"VPS {i} down"))
            for i in range(3)]  # fmt: skip
    raws.append(raw(gw_id, WRONG, dep_id, mail("bob@example.net", RIGHT, "Who are you?")))
    publish_raw(settings, raws)
    wait_until(lambda: len(_decisions(db)) == 4, 90, "four outcomes")
    assert set(_decisions(db).values()) == {"ignored_recipient"}
    out = tmp_path / "reports"

    # Before the fix: today's rules agree with what was recorded.
    before = replay(pipeline, out, "--gateway", gw_id)
    assert matrix(before) == {("ignored_recipient", "ignored_recipient"): 4}
    assert before["changed"] == [] and before["counts"] == {"unchanged": 4}

    with db.unit_of_work(actor="cli") as uow:
        actions.gateways.edit_gateway(uow, "support", address=RIGHT)
    wait_until(lambda: read_gateways(settings)[gw_id].address == RIGHT, 60, "the fixed gateway")

    # Dry run: the report, and nothing touched anywhere.
    rows, offsets, blobs = row_counts(db), end_offsets(settings), files(settings.blob_dir)
    dry = replay(pipeline, out, "--gateway", gw_id, "--decision", "ignored_recipient")
    assert matrix(dry) == {("ignored_recipient", "ticket_opened"): 3,
                           ("ignored_recipient", "incoming"): 1}  # fmt: skip
    assert dry["mode"] == "dry-run" and dry["counts"] == {"apply": 4}
    alice = sorted(r["subject"] for r in dry["changed"] if r["new_decision"] == "ticket_opened")
    assert alice == ["VPS 0 down", "VPS 1 down", "VPS 2 down"]
    assert all(r["gateway_id"] == gw_id and r["old_rule"] == "recipient" for r in dry["changed"])
    time.sleep(1)  # anything a dry run had produced would have reached the store by now
    assert row_counts(db) == rows
    assert end_offsets(settings) == offsets
    assert files(settings.blob_dir) == blobs

    # Applied: three tickets, one incoming email, the outcomes replaced, an audit entry.
    applied = replay(pipeline, out, "--gateway", gw_id, "--apply", "--actor", "admin:ops")
    assert applied["applied"]["sent"] == 4 and applied["applied"]["confirmed"] == 4
    assert applied["applied"]["outcomes"] == {"ticket_opened": 3, "incoming": 1}
    wait_until(lambda: sorted(_decisions(db).values()) == ["incoming"] + ["ticket_opened"] * 3,
               60, "the replayed outcomes in the store")  # fmt: skip
    with db.transaction() as s:
        wait_until(lambda: len(s.scalars(select(IncomingEmail)).all()) == 1, 30, "incoming")
        tickets = s.scalars(select(Ticket)).all()
        assert sorted(t.subject for t in tickets) == alice
        [entry] = s.scalars(select(AuditEntry).where(AuditEntry.action == "replay.apply")).all()
        assert entry.actor == "admin:ops" and entry.object_id == applied["replay_id"]
        assert entry.details["applied"]["confirmed"] == 4
        assert entry.details["selection"]["gateways"] == [gw_id]

    # After: nothing left to change; applying again sends nothing.
    after = replay(pipeline, out, "--gateway", gw_id, "--apply")
    assert matrix(after) == {("ticket_opened", "ticket_opened"): 3, ("incoming", "incoming"): 1}
    assert after["applied"]["sent"] == 0 and after["changed"] == []

    # Even a command for a ticketed mail sent straight to the router makes no second ticket.
    cmd = ReplayCommand(replay_id="by-hand", raw=raws[0].model_copy(
        update={"gateway": raws[0].gateway.model_copy(update={"address": RIGHT})}))  # fmt: skip
    publish(settings, settings.topics.replay, [(raws[0].email_id, cmd.model_dump_json().encode(),
                                                None)])  # fmt: skip
    seen: list[Outcome] = []

    def by_hand() -> bool:
        seen.clear()
        read_topic(settings.kafka_bootstrap, settings.topics.outcomes,
                   lambda r: seen.append(Outcome.model_validate_json(r.value)))  # fmt: skip
        return any(o.replay_id == "by-hand" for o in seen)

    wait_until(by_hand, 60, "the router's answer to the hand-made command")
    answer = next(o for o in seen if o.replay_id == "by-hand")
    assert (answer.decision, answer.rule) == ("ticket_opened", "replay")
    time.sleep(2)
    with db.transaction() as s:
        assert len(s.scalars(select(Ticket)).all()) == 3
    pipeline.assert_running()
    db.dispose()
