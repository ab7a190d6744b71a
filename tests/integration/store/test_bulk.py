"""`bulk.insert_rows` (COPY on PostgreSQL, a driver executemany on SQLite) writes the same
rows as SQLAlchemy's own INSERT, and fails the way a statement does."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from services.ticket_store import actions
from services.ticket_store.bulk import among, insert_rows
from services.ticket_store.db import Database, is_transient, upgrade
from services.ticket_store.models import MailOutcome, Message, OutboxEvent, Ticket

AWKWARD = "tab\there, new\nline, back\\slash, quote ' \" , \\N, é ✓, {braces} [1]"


@pytest.fixture(params=["sqlite", "postgresql"])
def db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('bulk') / 'store.db'}"
    else:
        url = str(request.getfixturevalue("postgres_database_url"))
    upgrade(url)
    database = Database(url)
    yield database
    database.dispose()


def _world(db: Database) -> tuple[int, int]:
    with db.unit_of_work() as uow:
        dep = actions.departments.add_department(uow, "Technical support")
        client = actions.clients.add_client(uow, "Alice", ["alice@example.org"])
        return dep.id, client.id


def _tickets(dep: int, client: int, tag: str, n: int) -> list[dict[str, object]]:
    now = datetime(2026, 12, 2, 10, 0, 0, 123456, tzinfo=UTC)
    return [
        {"id": f"T{tag}{i:06d}", "department_id": dep, "client_id": client,
         "subject": f"{AWKWARD} #{i}", "reply_to": "alice@example.org", "gateway_id": None,
         "source_email_id": f"e-{tag}{i}", "charged": i % 2 == 0, "status": "new",
         "event_sequence": 2, "created_at": now, "updated_at": now}
        for i in range(n)
    ]  # fmt: skip


def _messages(numbers: list[int], tag: str) -> list[dict[str, object]]:
    return [
        {"ticket_number": number, "direction": "in", "author_client_id": None,
         "source_email_id": f"m-{tag}{i}", "from_address": "alice@example.org",
         "from_name": "Alice ✓", "to_addresses": ["support@company.net", AWKWARD],
         "cc_addresses": [], "text": AWKWARD * 50, "html": "", "email_message_id": f"<{i}@x>",
         "created_at": datetime(2026, 12, 2, 11, 0, tzinfo=UTC)}
        for i, number in enumerate(numbers)
    ]  # fmt: skip


def _rows(db: Database, table: Table, key: str, prefix: str) -> list[dict[str, object]]:
    """Every row whose `key` column starts with `prefix`, by that key, without the prefix
    and the generated primary keys (they differ between the two inserts)."""
    skip = {"number", "id", "ticket_number"} - {key}
    with db.transaction() as s:
        rows = s.execute(select(table).where(table.c[key].startswith(prefix)).order_by(key))
        return [
            {k: (v.removeprefix(prefix) if k == key else v) for k, v in r._mapping.items()
             if k not in skip}
            for r in rows
        ]  # fmt: skip


def test_the_same_rows_as_sqlalchemy_insert(db: Database) -> None:
    dep, client = _world(db)
    for tag, write in (("a", "core"), ("b", "bulk")):
        tickets = _tickets(dep, client, tag, 30)
        with db.unit_of_work() as uow:
            if write == "core":
                uow.session.execute(insert(Ticket.__table__), tickets)
            else:
                insert_rows(uow.session, Ticket.__table__, tickets)
            numbers = list(
                uow.session.scalars(
                    select(Ticket.number).where(
                        among(uow.session, Ticket.id, [t["id"] for t in tickets])
                    )
                )
            )
            assert len(numbers) == 30
            messages = _messages(sorted(numbers), tag)
            if write == "core":
                uow.session.execute(insert(Message.__table__), messages)
            else:
                insert_rows(uow.session, Message.__table__, messages)

    t = Ticket.__table__
    assert _rows(db, t, "source_email_id", "e-a") == _rows(db, t, "source_email_id", "e-b")
    m = Message.__table__
    core, bulk = _rows(db, m, "source_email_id", "m-a"), _rows(db, m, "source_email_id", "m-b")
    assert core == bulk
    # Defaults the rows left out came from the columns, as with SQLAlchemy's INSERT.
    assert bulk[0]["delivery_status"] == "" and bulk[0]["outbound_id"] is None
    assert bulk[0]["to_addresses"] == ["support@company.net", AWKWARD]
    assert bulk[0]["text"] == AWKWARD * 50
    with db.transaction() as s:
        ticket = s.scalar(select(Ticket).where(Ticket.source_email_id == "e-b3"))
        assert ticket is not None
        assert ticket.subject == f"{AWKWARD} #3" and ticket.charged is False
        assert ticket.created_at == datetime(2026, 12, 2, 10, 0, 0, 123456, tzinfo=UTC)
        assert [msg.from_name for msg in ticket.messages] == ["Alice ✓"]


def test_a_constraint_violation_is_sqlalchemys_and_rolls_back_its_savepoint_only(
    db: Database,
) -> None:
    with db.unit_of_work() as uow:
        insert_rows(uow.session, OutboxEvent.__table__, [{"topic": "t", "key": "k", "value": b"1"}])
        row = {"email_id": "e-1", "gateway_id": "gw", "decision": "ticket_opened", "rule": "r",
               "reason": "", "ticket_id": None, "client_id": None, "automatic": False,
               "decided_at": datetime(2026, 12, 2, tzinfo=UTC)}  # fmt: skip
        insert_rows(uow.session, MailOutcome.__table__, [row])
        with pytest.raises(IntegrityError), uow.savepoint():
            insert_rows(uow.session, MailOutcome.__table__, [row | {"email_id": "e-2"}, row])
        insert_rows(uow.session, MailOutcome.__table__, [row | {"email_id": "e-3"}])
    with db.transaction() as s:
        assert sorted(s.scalars(select(MailOutcome.email_id))) == ["e-1", "e-3"]
        assert s.scalar(select(OutboxEvent.value)) == b"1"


def test_rows_must_share_their_columns(db: Database) -> None:
    with db.unit_of_work() as uow, pytest.raises(ValueError, match="differ"):
        insert_rows(
            uow.session, OutboxEvent.__table__, [{"topic": "t", "key": "k"}, {"topic": "t"}]
        )


ODD_KEYS = ['a"b', "back\\slash", "x,y", "{z}", " spaced ", "NULL", "", "é✓", "'q'"]


def test_among_matches_like_in(db: Database) -> None:
    keys = [f"k{i}" for i in range(600)] + ODD_KEYS
    with db.unit_of_work() as uow:
        rows = [{"topic": "t", "key": key, "value": None} for key in keys]
        insert_rows(uow.session, OutboxEvent.__table__, rows)
    with db.transaction() as s:
        wanted = {f"k{i}" for i in range(0, 1200, 3)} | set(ODD_KEYS) | {"null", "a"}
        found = set(s.scalars(select(OutboxEvent.key).where(among(s, OutboxEvent.key, wanted))))
        assert found == {f"k{i}" for i in range(0, 600, 3)} | set(ODD_KEYS)
        assert list(s.scalars(select(OutboxEvent.key).where(among(s, OutboxEvent.key, [])))) == []
        ids = sorted(s.scalars(select(OutboxEvent.id)))
        odd = set(ids[1::2])
        assert set(s.scalars(select(OutboxEvent.id).where(among(s, OutboxEvent.id, odd)))) == odd


def test_a_server_gone_before_a_copy_is_transient(postgres_database_url: str) -> None:
    """The server side of the session ends before its COPY: the consumer must see a
    transient error (retry the batch), never a bad record (dead letter). (COPY is
    PostgreSQL's; SQLite's executemany errors are SQLAlchemy's own.)"""
    upgrade(postgres_database_url)
    db = Database(postgres_database_url)
    with pytest.raises(DBAPIError) as failed, db.unit_of_work() as uow:
        pid = uow.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with uow.savepoint():
            uow.session.execute(text("SELECT 1"))  # the SAVEPOINT is sent: COPY comes next
            with db.engine.connect() as other:
                other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            insert_rows(uow.session, OutboxEvent.__table__, [{"topic": "t", "key": "k"}])
    assert is_transient(failed.value), failed.value
    assert str(failed.value.statement).startswith("COPY ")  # the COPY met the lost server
    with db.transaction() as s:  # the pool gave the lost connection up
        assert s.scalar(select(func.count()).select_from(OutboxEvent)) == 0
    db.dispose()
