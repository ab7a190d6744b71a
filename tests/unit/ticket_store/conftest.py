"""A FakeUnitOfWork per test on a copy of a migrated SQLite template (one upgrade per session)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from kernel.config import Topics
from services.ticket_store.db import make_engine, upgrade
from tests.unit.ticket_store.fakes import FakeUnitOfWork


@pytest.fixture(scope="session")
def schema_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("schema") / "template.sqlite"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def uow(schema_template: Path, tmp_path: Path) -> Iterator[FakeUnitOfWork]:
    path = tmp_path / "store.sqlite"
    shutil.copyfile(schema_template, path)
    engine = make_engine(f"sqlite:///{path}")
    try:
        with Session(engine) as session, session.begin():
            yield FakeUnitOfWork(session, Topics(), actor="staff:1")
    finally:
        engine.dispose()
