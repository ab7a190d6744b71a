"""The mail log on 100,000 outcomes (PostgreSQL): each search's first page, and a deep page,
within a generous bound. The times are printed (run with -s to see them)."""

from __future__ import annotations

import time
from datetime import datetime

import pytest
from sqlalchemy import text

from schemas.events import Decision
from services.ticket_store.db import Database, upgrade
from services.ticket_store.queries.mail_log import MailLogFilter, mail_log, rules_seen

# A bound on each query's time: alone on the machine (make test's serial pass).
pytestmark = pytest.mark.serial

ROWS = 100_000
BOUND_S = 0.5  # per query; they take milliseconds on the indexes
DECISIONS = [d.value for d in Decision]
RULES = ("client", "recipient", "automatic", "empty", "thread", "parse", "incidents")


def _fill(db: Database) -> None:
    """One INSERT … SELECT per table over generate_series: 100,000 rows in about a second."""
    decisions = "ARRAY[" + ",".join(f"'{d}'" for d in DECISIONS) + "]"
    rules = "ARRAY[" + ",".join(f"'{r}'" for r in RULES) + "]"
    at = "timestamptz '2026-01-01 00:00+00' + i * interval '30 seconds'"
    with db.transaction() as s:
        s.execute(
            text(f"""
            INSERT INTO mail_outcomes
                (email_id, gateway_id, decision, rule, reason, automatic, decided_at)
            SELECT lpad(to_hex(i), 32, '0'), 'gw-' || (i % 5),
                   ({decisions})[i % {len(DECISIONS)} + 1], ({rules})[i % {len(RULES)} + 1],
                   '', false, {at}
            FROM generate_series(0, {ROWS - 1}) AS i""")
        )
        s.execute(
            text(f"""
            INSERT INTO mail_sources (email_id, gateway_id, from_address, subject, size,
                                      blob_ref, topic, partition, "offset", fetched_at)
            SELECT lpad(to_hex(i), 32, '0'), 'gw-' || (i % 5),
                   'sender' || (i % 5000) || '@client' || (i % 37) || '.example',
                   'Order ' || i || ' question about invoice ' || (i % 991), 2000,
                   NULL, 'mail.raw', i % 4, i, {at}
            FROM generate_series(0, {ROWS - 1}) AS i""")
        )
        s.execute(text("ANALYZE mail_outcomes"))
        s.execute(text("ANALYZE mail_sources"))
        assert s.scalar(text("SELECT count(*) FROM mail_outcomes")) == ROWS


def test_mail_log_on_100000_outcomes(postgres_database_url: str) -> None:
    upgrade(postgres_database_url)
    db = Database(postgres_database_url)
    started = time.perf_counter()
    _fill(db)
    print(f"\nfilled {ROWS} outcomes and sources in {time.perf_counter() - started:.1f}s")
    searches = {
        "newest page": (MailLogFilter(), 0),
        "page 200": (MailLogFilter(), 199 * 50),
        "gateway": (MailLogFilter(gateway="gw-3"), 0),
        "decision": (MailLogFilter(decision="malformed"), 0),
        "rule": (MailLogFilter(rule="thread"), 0),
        "sender": (MailLogFilter(sender="sender4242@"), 0),
        "subject": (MailLogFilter(subject="invoice 990"), 0),
        "one day": (
            MailLogFilter(since=datetime(2026, 1, 20).date(), until=datetime(2026, 1, 20).date()),
            0,
        ),  # fmt: skip
        "all together": (
            MailLogFilter(
                gateway="gw-2",
                decision="incoming",
                sender="client",
                since=datetime(2026, 1, 5).date(),
            ),
            0,
        ),  # fmt: skip
    }
    times = {}
    with db.transaction() as s:
        for name, (f, offset) in searches.items():
            mail_log(s, f, offset, 51)  # warm the cache once, as a second visitor would
            t = time.perf_counter()
            rows = mail_log(s, f, offset, 51)
            times[name] = time.perf_counter() - t
            assert rows, name
            decided = [r.outcome.decided_at for r in rows]
            assert decided == sorted(decided, reverse=True), name
            if f.sender:
                assert all(f.sender in r.from_address for r in rows)
            if f.decision:
                assert {r.outcome.decision for r in rows} == {f.decision}
        t = time.perf_counter()
        assert set(rules_seen(s)) == set(RULES)  # the search form's choices, on every page
        times["rules for the form"] = time.perf_counter() - t
    for name, took in times.items():
        print(f"mail log on {ROWS} outcomes, {name}: {took * 1000:.1f} ms")
    slow = {n: t for n, t in times.items() if t > BOUND_S}
    assert not slow, slow
    db.dispose()
