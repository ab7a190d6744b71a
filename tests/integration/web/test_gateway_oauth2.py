"""Connecting a gateway with OAuth2 from its admin page: authorization code + PKCE at the
test authorization server (authlib), back to Supportdesk's callback, the tokens onto
gateway.tokens; then a fetcher logs in to Dovecot with them (XOAUTH2, checked by
introspection). And the "Reconnect" a failing gateway shows."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import select

from devtools.dovecot import DovecotServer
from devtools.mail import create_topics, mail
from devtools.oauth2_server import CLIENT_ID, CLIENT_SECRET, SCOPE, OAuth2TestServer
from kernel.blobs import BlobStore
from kernel.config import Topics
from kernel.crypto import decrypt
from kernel.oauth2.records import KafkaTokenStore, TokenRecord
from schemas import codec
from schemas.events import GatewayEntry
from services.fetcher.gateway import GatewayRunner
from services.fetcher.options import FetcherOptions
from services.ticket_store import actions
from services.ticket_store.models import Gateway, OutboxEvent
from services.ticket_store.models_oauth2 import GatewayOAuth2
from services.ticket_store.models_operations import GatewayHealthRecord
from tests.fixtures.dovecot import DEFAULT_USER
from tests.integration.web.conftest import World, csrf_of, log_in


def _gateway(world: World, dovecot: DovecotServer) -> str:
    with world.db.unit_of_work() as uow:
        gw = actions.gateways.add_gateway(
            uow,
            name="m365",
            type="external",
            protocol="imap",
            host="127.0.0.1",
            port=dovecot.imaps_port,
            security="tls",
            username=DEFAULT_USER,
            address="support@company.net",
            department_id=world.sales,
            poll_interval_s=60,
        )
        return gw.id


def _connect(
    browser, world: World, server: OAuth2TestServer, gateway_id: str, secret: str = CLIENT_SECRET
) -> str:
    """The administrator's round trip; returns the final page's HTML."""
    page = browser.get(f"/admin/gateways/{gateway_id}/oauth2")
    assert page.status_code == 200, page.text
    r = browser.post(
        f"/admin/gateways/{gateway_id}/oauth2",
        data={
            "csrf_token": csrf_of(page.text),
            "provider": "generic",
            "client_id": CLIENT_ID,
            "client_secret": secret,
            "scope": SCOPE,
            "authorization_url": server.authorization_url,
            "token_url": server.token_url,
        },
    )
    assert r.status_code == 303, r.text
    to_provider = r.headers["location"]
    query = parse_qs(urlsplit(to_provider).query)
    assert to_provider.startswith(server.authorization_url)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"]
    back = httpx.get(to_provider)  # the provider signs the mailbox in and sends us back
    assert back.status_code == 302
    callback = urlsplit(back.headers["location"])
    assert callback.path == "/admin/oauth2/callback"
    done = browser.get(f"{callback.path}?{callback.query}")
    assert done.status_code == 303, done.text
    assert done.headers["location"] == f"/admin/gateways/{gateway_id}/oauth2?done=oauth2-connected"
    shown = browser.get(done.headers["location"])
    assert shown.status_code == 200
    return shown.text


def _token_events(world: World, gateway_id: str) -> list[TokenRecord]:
    with world.db.transaction() as s:
        rows = s.scalars(
            select(OutboxEvent).where(
                OutboxEvent.topic == world.settings.topics.gateway_tokens,
                OutboxEvent.key == gateway_id,
            )
        )
        return [TokenRecord.model_validate_json(r.value) for r in rows]


def test_connect_from_the_gateway_page_then_fetch_with_the_tokens(
    world: World,
    oauth2_server: OAuth2TestServer,
    oauth2_dovecot: DovecotServer,
    kafka_bootstrap: str,
) -> None:
    gateway_id = _gateway(world, oauth2_dovecot)
    ann = log_in(world, "ann")
    html = _connect(ann, world, oauth2_server, gateway_id)
    assert "The mail gateway is connected with OAuth2." in html and "Reconnect" in html

    [refresh] = oauth2_server.active_refresh_tokens(DEFAULT_USER)
    [record] = _token_events(world, gateway_id)
    assert decrypt(world.settings, record.refresh_token_encrypted) == refresh
    assert record.username == DEFAULT_USER and record.status == "connected"
    with world.db.transaction() as s:
        gw = s.get(Gateway, gateway_id)
        row = s.get(GatewayOAuth2, gateway_id)
        assert gw is not None and gw.auth == "oauth2"
        assert row is not None and row.status == "connected" and row.pending_state is None
        entries = s.scalars(
            select(OutboxEvent).where(OutboxEvent.topic == world.settings.topics.gateways)
        ).all()
        stored = [row.refresh_token_encrypted, row.client_secret_encrypted]
        outbox = [e.value or b"" for e in s.scalars(select(OutboxEvent)).all()]
    assert codec.loads(GatewayEntry, entries[-1].value).auth == "oauth2"
    # No secret in clear: not in the page, the outbox (events), or the row.
    for secret in (refresh, CLIENT_SECRET):
        assert secret not in html
        assert not [v for v in outbox if secret.encode() in v]
        assert secret not in " ".join(stored)

    # A fetcher (which only reads the topic) logs in with what the connect published.
    prefix = f"wo{uuid.uuid4().hex[:10]}"
    topics = Topics(**{k: f"{prefix}.{v}" for k, v in Topics().model_dump().items()})
    settings = world.settings.model_copy(
        update={"kafka_bootstrap": kafka_bootstrap, "topics": topics, "topic_partitions": 1}
    )
    create_topics(kafka_bootstrap, topics, partitions=1)
    KafkaTokenStore(settings).put(record)
    oauth2_dovecot.save(DEFAULT_USER, mail(0))
    with world.db.transaction() as s:
        entry = actions.events.gateway_entry(s.get(Gateway, gateway_id))
    runner = GatewayRunner(
        entry,
        settings,
        FetcherOptions(idle=False),
        blobs=BlobStore(settings.blob_dir),
        ca_file=str(oauth2_dovecot.ca_path),
    )
    try:
        assert runner.poll_once() == 1
    finally:
        runner.close()


def test_a_failing_gateway_shows_its_reason_and_reconnects(
    world: World, oauth2_server: OAuth2TestServer, oauth2_dovecot: DovecotServer
) -> None:
    gateway_id = _gateway(world, oauth2_dovecot)
    ann = log_in(world, "ann")
    _connect(ann, world, oauth2_server, gateway_id)
    reason = "OAuth2: refresh token refused by the provider (invalid_grant: revoked or expired)"
    with world.db.unit_of_work() as uow:
        uow.session.add(
            GatewayHealthRecord(gateway_id=gateway_id, status="failing", last_error=reason)
        )
    page = ann.get(f"/admin/gateways/{gateway_id}/oauth2")
    assert reason in page.text and "Reconnect" in page.text
    assert "OAuth2 (Microsoft 365, Google" in ann.get(f"/admin/gateways/{gateway_id}").text

    oauth2_server.revoke_user(DEFAULT_USER)
    _connect(ann, world, oauth2_server, gateway_id, secret="")  # the stored secret is used
    first, second = _token_events(world, gateway_id)
    assert second.version > first.version  # readers take the reconnect over old rotations
    [refresh] = oauth2_server.active_refresh_tokens(DEFAULT_USER)
    assert decrypt(world.settings, second.refresh_token_encrypted) == refresh


def test_callback_with_an_unknown_state_is_refused(world: World) -> None:
    ann = log_in(world, "ann")
    r = ann.get("/admin/oauth2/callback?code=x&state=forged")
    assert r.status_code == 400 and "unknown or too old" in r.text
