"""`supportdesk gateway add|edit|list|remove|test` on a real database, Dovecot and broker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from kernel.config import Settings
from services.fetcher.state import load_health
from services.fetcher.worker import Fetcher
from services.ticket_store import actions
from services.ticket_store.actions.events import gateway_entry
from services.ticket_store.db import Database, upgrade
from services.ticket_store.models import Gateway, OutboxEvent
from services.ticket_store.queries.gateways import gateway_by_name
from tests.fixtures.dovecot import DEFAULT_PASSWORD, DEFAULT_USER, DovecotServer
from tests.integration.fetcher.conftest import fast_options, mail
from tests.integration.fetcher.procs import REPO, fetcher_env


def cli(settings: Settings, ca: str, *args: str, password: str | None = None):
    env = {**os.environ, "PYTHONPATH": str(REPO), **fetcher_env(settings, ca)}
    env.pop("SUPPORTDESK_GATEWAY_PASSWORD", None)
    if password is not None:
        env["SUPPORTDESK_GATEWAY_PASSWORD"] = password
    return subprocess.run(
        [sys.executable, "-m", "supportdesk.cli", "gateway", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )


def test_gateway_cli_add_test_edit_list_remove(
    fetch_settings: Settings, dovecot: DovecotServer
) -> None:
    upgrade(fetch_settings.database_url)
    db = Database(fetch_settings.database_url, topics=fetch_settings.topics)
    with db.unit_of_work() as uow:
        dep_id = actions.departments.add_department(uow, "Technical support").id
    ca = str(dovecot.ca_path)
    for i in range(3):
        dovecot.save(DEFAULT_USER, mail(i))
    dovecot.save(DEFAULT_USER, mail(9))
    add = cli(
        fetch_settings, ca, "add", "--name", "support", "--protocol", "imap",
        "--host", "127.0.0.1", "--port", str(dovecot.imaps_port), "--username", DEFAULT_USER,
        "--address", "support@company.net", "--department-id", str(dep_id),
        password=DEFAULT_PASSWORD,
    )  # fmt: skip
    assert add.returncode == 0, add.stderr
    before = dovecot.flags(DEFAULT_USER)

    ok = cli(fetch_settings, ca, "test", "support")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "4 messages, unseen 4" in ok.stdout
    assert dovecot.flags(DEFAULT_USER) == before  # the test changed nothing

    wrong = "NotThePassword-31337"
    edit = cli(fetch_settings, ca, "edit", "support", "--password", password=wrong)
    assert edit.returncode == 0 and "password" in edit.stdout and wrong not in edit.stdout
    bad = cli(fetch_settings, ca, "test", "support")
    assert bad.returncode == 1
    assert "login failed" in bad.stdout and "AUTHENTICATIONFAILED" in bad.stdout
    assert wrong not in bad.stdout + bad.stderr

    edit = cli(fetch_settings, ca, "edit", "support", "--password", "--interval", "30",
               password=DEFAULT_PASSWORD)  # fmt: skip
    assert edit.returncode == 0, edit.stderr
    assert cli(fetch_settings, ca, "edit", "support", "--interval", "5").returncode != 0

    # A fetcher poll publishes health; `list` shows it.
    with db.transaction() as s:
        entry = gateway_entry(gateway_by_name(s, "support"))
    assert entry.poll_interval_s == 30
    f = Fetcher(fetch_settings, ca_file=ca, options=fast_options())
    try:
        assert f.run_once({entry.gateway_id: entry}) == {entry.gateway_id: 4}
    finally:
        f.close()
    health = load_health(fetch_settings.kafka_bootstrap, fetch_settings.topics.fetcher_state)
    assert health[entry.gateway_id].mails_taken == 4
    listed = cli(fetch_settings, ca, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    (row,) = json.loads(listed.stdout)
    assert (row["name"], row["status"], row["mails"], row["failures"]) == ("support", "ok", 4, 0)
    assert DEFAULT_PASSWORD not in listed.stdout
    table = cli(fetch_settings, ca, "list")
    assert "support" in table.stdout and "ok" in table.stdout

    removed = cli(fetch_settings, ca, "remove", "support")
    assert removed.returncode == 0, removed.stderr
    with db.transaction() as s:
        assert s.scalar(select(Gateway)) is None
        last = s.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.topic == fetch_settings.topics.gateways)
            .order_by(OutboxEvent.id.desc())
        ).first()
        assert last is not None and last.key == entry.gateway_id and last.value is None
        # No plaintext password ever reached the outbox (it becomes the topic).
        for ev in s.scalars(select(OutboxEvent)):
            assert DEFAULT_PASSWORD.encode() not in (ev.value or b"")
    db.dispose()


def test_gateway_test_reports_refused_connection(
    fetch_settings: Settings, dovecot: DovecotServer, tmp_path: Path
) -> None:
    upgrade(fetch_settings.database_url)
    db = Database(fetch_settings.database_url, topics=fetch_settings.topics)
    with db.unit_of_work() as uow:
        dep_id = actions.departments.add_department(uow, "Sales").id
    ca = str(dovecot.ca_path)
    port = str(dovecot.pop3s_port)
    dovecot.stop()
    add = cli(
        fetch_settings, ca, "add", "--name", "pop", "--protocol", "pop3", "--host", "127.0.0.1",
        "--port", port, "--username", DEFAULT_USER, "--address", "sales@company.net",
        "--department-id", str(dep_id), password=DEFAULT_PASSWORD,
    )  # fmt: skip
    assert add.returncode == 0, add.stderr
    res = cli(fetch_settings, ca, "test", "pop")
    assert res.returncode == 1 and "connection refused" in res.stdout
    dovecot.start()
    res = cli(fetch_settings, ca, "test", "pop")
    assert res.returncode == 0 and "0 messages, unseen n/a" in res.stdout, res.stdout
    db.dispose()
