"""`supportdesk gateway connect` (device code) and `gateway test` on an OAuth2 gateway:
the real CLI in a subprocess, the test authorization server, Dovecot, the broker."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import httpx
from sqlalchemy import select

from devtools.dovecot import DovecotServer
from devtools.oauth2_server import (
    CLIENT_ID,
    CLIENT_SECRET,
    PUBLIC_CLIENT_ID,
    SCOPE,
    OAuth2TestServer,
)
from kernel.config import Settings
from kernel.crypto import decrypt
from kernel.oauth2.records import KafkaTokenStore, TokenRecord
from services.ticket_store import actions
from services.ticket_store.db import Database, upgrade
from services.ticket_store.models import Gateway, OutboxEvent
from services.ticket_store.models_oauth2 import GatewayOAuth2
from tests.fixtures.dovecot import DEFAULT_USER
from tests.integration.fetcher.conftest import mail
from tests.integration.fetcher.procs import REPO, fetcher_env


def _env(settings: Settings, ca: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), **fetcher_env(settings, ca)}
    env["SUPPORTDESK_OAUTH2_INSECURE_HTTP"] = "1"  # the test server speaks plain http
    env.pop("SUPPORTDESK_OAUTH2_CLIENT_SECRET", None)
    return env


def test_connect_with_the_device_flow_then_gateway_test_logs_in(
    fetch_settings: Settings, oauth2_server: OAuth2TestServer, oauth2_dovecot: DovecotServer
) -> None:
    upgrade(fetch_settings.database_url)
    db = Database(fetch_settings.database_url, topics=fetch_settings.topics)
    with db.unit_of_work() as uow:
        dep = actions.departments.add_department(uow, "Technical support")
        actions.gateways.add_gateway(
            uow, name="m365", type="external", protocol="imap", host="127.0.0.1",
            port=oauth2_dovecot.imaps_port, username=DEFAULT_USER,
            address="support@company.net", department_id=dep.id,
        )  # fmt: skip
    env = _env(fetch_settings, str(oauth2_dovecot.ca_path))
    proc = subprocess.Popen(
        [sys.executable, "-m", "supportdesk.cli", "gateway", "connect", "m365",
         "--provider", "generic", "--client-id", PUBLIC_CLIENT_ID, "--scope", SCOPE,
         "--token-url", oauth2_server.token_url, "--device-url", oauth2_server.device_url,
         "--timeout", "60"],
        env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        code = re.search(r"enter the code (\S+)", first)
        assert code and oauth2_server.url in first, first + (
            proc.stderr.read() if proc.stderr else ""
        )
        oauth2_server.approve_device(code.group(1))  # the administrator signs in elsewhere
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "connected with OAuth2" in out

    with db.transaction() as s:
        gw = s.scalar(select(Gateway))
        row = s.get(GatewayOAuth2, gw.id)
        assert gw.auth == "oauth2" and row.status == "connected"
        [event] = s.scalars(
            select(OutboxEvent).where(OutboxEvent.topic == fetch_settings.topics.gateway_tokens)
        ).all()
        record = TokenRecord.model_validate_json(event.value)
    [refresh] = oauth2_server.active_refresh_tokens(DEFAULT_USER)
    assert decrypt(fetch_settings, record.refresh_token_encrypted) == refresh
    assert refresh not in out + err

    # What the outbox relay would publish; then `gateway test` logs in with XOAUTH2.
    KafkaTokenStore(fetch_settings).put(record)
    oauth2_dovecot.save(DEFAULT_USER, mail(0))
    test = subprocess.run(
        [sys.executable, "-m", "supportdesk.cli", "gateway", "test", "m365"],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert test.returncode == 0, test.stdout + test.stderr
    assert "OK m365" in test.stdout and "1 messages" in test.stdout

    oauth2_server.revoke_user(DEFAULT_USER)
    test = subprocess.run(
        [sys.executable, "-m", "supportdesk.cli", "gateway", "test", "m365"],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert test.returncode == 1 and "FAILED m365" in test.stdout
    assert refresh not in test.stdout + test.stderr


def test_connect_by_pasting_the_redirect_where_there_is_no_device_flow(
    fetch_settings: Settings, oauth2_server: OAuth2TestServer, oauth2_dovecot: DovecotServer
) -> None:
    """Google's mail scope has no device flow: authorization code + PKCE by hand."""
    upgrade(fetch_settings.database_url)
    db = Database(fetch_settings.database_url, topics=fetch_settings.topics)
    with db.unit_of_work() as uow:
        dep = actions.departments.add_department(uow, "Technical support")
        actions.gateways.add_gateway(
            uow, name="gmail", type="external", protocol="imap", host="127.0.0.1",
            port=oauth2_dovecot.imaps_port, username=DEFAULT_USER,
            address="support@company.net", department_id=dep.id,
        )  # fmt: skip
    env = _env(fetch_settings, str(oauth2_dovecot.ca_path))
    env["SUPPORTDESK_OAUTH2_CLIENT_SECRET"] = CLIENT_SECRET
    proc = subprocess.Popen(
        [sys.executable, "-m", "supportdesk.cli", "gateway", "connect", "gmail",
         "--provider", "generic", "--client-id", CLIENT_ID, "--scope", SCOPE,
         "--authorization-url", oauth2_server.authorization_url,
         "--token-url", oauth2_server.token_url, "--redirect-uri", "http://127.0.0.1/"],
        env=env, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stdin is not None
        proc.stdout.readline()  # "Open this address…"
        url = proc.stdout.readline().strip()
        assert url.startswith(oauth2_server.authorization_url) and "code_challenge=" in url
        landed = httpx.get(url).headers["location"]  # the browser lands here after sign-in
        out, err = proc.communicate(landed + "\n", timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    with db.transaction() as s:
        row = s.scalar(select(GatewayOAuth2))
        assert row.status == "connected" and row.provider == "generic"
    [refresh] = oauth2_server.active_refresh_tokens(DEFAULT_USER)
    assert refresh not in out + err and CLIENT_SECRET not in out + err
