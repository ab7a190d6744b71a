"""Engine, sessions and schema migrations for the store's database."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from kernel.config import Topics
from kernel.health import wait_for
from services.ticket_store.unit_of_work import UnitOfWork

MIGRATIONS = Path(__file__).parent / "migrations"
# Failures that go away by themselves (server gone, file locked or read-only): retried,
# never treated as the fault of the record or request at hand.
TRANSIENT = (OperationalError, InterfaceError)
# Execution option: how an SQLite transaction begins ("IMMEDIATE"); see make_engine.
SQLITE_BEGIN = "sqlite_begin"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn) -> None:  # type: ignore[no-untyped-def]
            """Units of work begin with BEGIN IMMEDIATE themselves; other sessions keep
            pysqlite's own handling (an implicit BEGIN right before the first write).

            pysqlite's handling breaks SAVEPOINT (SQLAlchemy's documented fix: take
            BEGIN over). IMMEDIATE takes the write lock up front, waiting up to the busy
            timeout, so a unit of work that reads and then writes never fails on a WAL
            snapshot another writer has moved on from (SQLITE_BUSY_SNAPSHOT).
            """
            dbapi_conn = conn.connection.driver_connection
            mode = conn.get_execution_options().get(SQLITE_BEGIN)
            if mode:
                dbapi_conn.isolation_level = None
                conn.exec_driver_sql(f"BEGIN {mode}")
            elif dbapi_conn.isolation_level is None:
                dbapi_conn.isolation_level = ""

        return engine
    # Plans made for each execution's own values: psycopg prepares a statement run five
    # times, and PostgreSQL then keeps one generic plan for it, made while the tables were
    # empty. A lookup by one array of keys (`bulk.among`, the same text for any number
    # of keys) kept a sequential scan comparing every row with every key: the mail
    # consumer's server CPU grew with the square of the tickets (seen: 15 s for 5,000).
    return create_engine(
        url, pool_pre_ping=True, connect_args={"options": "-c plan_cache_mode=force_custom_plan"}
    )


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, TRANSIENT):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the schema up to date; the only way tables are created."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), revision)


class Database:
    """The store's database. `topics` names where a unit of work's events go."""

    def __init__(self, url: str, topics: Topics | None = None) -> None:
        self.url = url
        self.topics = topics or Topics()
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        writer = self.engine
        if self.engine.dialect.name == "sqlite":
            writer = self.engine.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
        self.write_sessions = sessionmaker(writer, expire_on_commit=False)

    @contextmanager
    def unit_of_work(self, actor: str = "system") -> Iterator[UnitOfWork]:
        """One transaction for `actor`: commit on success, roll back on any error, with
        the events emitted and the audit entries written in it. On SQLite it holds the
        write lock from its start, so savepoints work and writers queue up in order."""
        with self.write_sessions() as session, session.begin():
            yield UnitOfWork(session, self.topics, actor)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A bare session in a transaction, for reads; changes go through `unit_of_work`."""
        with self.sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()

    def ping(self) -> None:
        """Raise unless the database answers (for `kernel.health.wait_for`)."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def wait_until_reachable(self, stopping: threading.Event | None = None) -> bool:
        """Block until the database answers, logging its address without the password."""
        where = make_url(self.url).render_as_string(hide_password=True)
        return wait_for("database", self.ping, where=where, stopping=stopping)
