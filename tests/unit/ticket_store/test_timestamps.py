"""Timestamps come back in UTC from SQLite too (the API showed them without a zone)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import select

from services.ticket_store.models import LoginAttempt
from tests.unit.ticket_store.fakes import FakeUnitOfWork


def test_sqlite_gives_back_utc_and_compares_in_utc(uow: FakeUnitOfWork) -> None:
    s = uow.session
    plus_two = timezone(timedelta(hours=2))
    s.add(LoginAttempt(identity="a", ip="x", at=datetime(2026, 12, 2, 12, 0, tzinfo=plus_two)))
    s.add(LoginAttempt(identity="b", ip="x", at=datetime(2026, 12, 2, 11, 0, tzinfo=UTC)))
    s.flush()
    s.expire_all()
    rows = {r.identity: r.at for r in s.scalars(select(LoginAttempt))}
    assert rows == {
        "a": datetime(2026, 12, 2, 10, 0, tzinfo=UTC),
        "b": datetime(2026, 12, 2, 11, 0, tzinfo=UTC),
    }
    assert all(at.tzinfo is not None for at in rows.values())
    later = datetime(2026, 12, 2, 12, 30, tzinfo=plus_two)  # 10:30 UTC
    newer = s.scalars(select(LoginAttempt.identity).where(LoginAttempt.at > later)).all()
    assert newer == ["b"]
