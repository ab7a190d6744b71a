"""The PostgreSQL fixtures give a reachable server and a private database per test."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

pytestmark = pytest.mark.integration


def test_postgres_url_connects_with_psycopg3(postgres_url: str) -> None:
    url = make_url(postgres_url)
    assert url.drivername == "postgresql+psycopg"
    engine = sa.create_engine(postgres_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT 1")).scalar() == 1
            assert conn.execute(sa.text("SHOW server_version_num")).scalar() >= "150000"
    finally:
        engine.dispose()


@pytest.mark.parametrize("round_", [1, 2])
def test_per_test_database_is_isolated(postgres_database_url: str, round_: int) -> None:
    """Both rounds create the same table: only possible if each gets a fresh database."""
    assert make_url(postgres_database_url).database.startswith("test_")
    engine = sa.create_engine(postgres_database_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE tickets (id serial PRIMARY KEY, subject text)"))
            conn.execute(sa.text("INSERT INTO tickets (subject) VALUES (:s)"), {"s": f"r{round_}"})
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT subject FROM tickets")).scalars().all() == [
                f"r{round_}"
            ]
    finally:
        engine.dispose()


def test_database_dropped_even_with_open_connection(postgres_url: str, request) -> None:
    """drop_database uses WITH (FORCE): a leaked connection must not break teardown."""
    from tests.fixtures.postgres import create_database, drop_database

    url = create_database(postgres_url)
    engine = sa.create_engine(url)
    conn = engine.connect()
    try:
        drop_database(url)
        admin = sa.create_engine(postgres_url)
        try:
            with admin.connect() as c:
                names = c.execute(sa.text("SELECT datname FROM pg_database")).scalars().all()
        finally:
            admin.dispose()
        assert make_url(url).database not in names
    finally:
        conn.invalidate()
        engine.dispose()


def test_database_url_runs_on_both_backends(database_url: str) -> None:
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE t (x integer)"))
            conn.execute(sa.text("INSERT INTO t VALUES (42)"))
            assert conn.execute(sa.text("SELECT x FROM t")).scalar() == 42
    finally:
        engine.dispose()
