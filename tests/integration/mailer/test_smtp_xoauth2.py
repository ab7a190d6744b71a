"""Outgoing mail with SASL XOAUTH2 (or OAUTHBEARER where that is all that is offered):
the mailer takes the named gateway's token from gateway.tokens (the record the fetchers
refresh), against an SMTP server that checks every token at the test authorization
server's introspection endpoint."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from aiosmtpd.controller import Controller
from cryptography.fernet import Fernet
from pydantic import SecretStr

from devtools.oauth2_server import OAuth2TestServer
from kernel.config import Settings, Topics
from kernel.crypto import decrypt
from kernel.oauth2.records import KafkaTokenStore
from kernel.oauth2.tokens import TokenManager
from schemas import codec
from schemas.events import DeliveryReport, OutboundEmail
from services.mailer.worker import Mailer
from tests.fixtures.oauth2 import XOAuth2SmtpHandler, connect_gateway

USER = "support@company.net"


def _settings(kafka_bootstrap: str, smtp: Controller, tmp_path: Path, gateway_id: str) -> Settings:
    prefix = f"mx{uuid.uuid4().hex[:10]}"
    return Settings(
        kafka_bootstrap=kafka_bootstrap,
        topics=Topics(**{k: f"{prefix}.{v}" for k, v in Topics().model_dump().items()}),
        secret_key=SecretStr(Fernet.generate_key().decode()),
        smtp_host=smtp.hostname,
        smtp_port=smtp.port,
        smtp_security="none",
        smtp_oauth2_gateway=gateway_id,
        topic_partitions=1,
    )


def smtp_mechanism(smtp: Controller) -> str:
    from tests.fixtures.oauth2 import OAuthBearerSmtpHandler

    return "OAUTHBEARER" if isinstance(smtp.handler, OAuthBearerSmtpHandler) else "XOAUTH2"


def _reply(outbound_id: str) -> bytes:
    return codec.dumps(
        OutboundEmail(outbound_id=outbound_id, to="alice@example.org", subject="Re: x", text="ok")
    )


def test_mailer_sends_with_xoauth2_and_refreshes_an_expired_token(
    kafka_bootstrap: str,
    oauth2_server: OAuth2TestServer,
    xoauth2_smtp: tuple[Controller, XOAuth2SmtpHandler],
    tmp_path: Path,
) -> None:
    smtp, handler = xoauth2_smtp
    settings = _settings(kafka_bootstrap, smtp, tmp_path, "gw-smtp")
    oauth2_server.access_ttl_s = 4
    first = connect_gateway(settings, oauth2_server, "gw-smtp", USER)
    reports: list[DeliveryReport] = []
    mailer = Mailer(settings, report=reports.append)
    # As in production but refreshing 0.1 s (not a quarter of the lifetime) before expiry,
    # so a slow first send on a loaded machine does not refresh already.
    mailer.tokens = TokenManager(settings, KafkaTokenStore(settings), margin_s=0.1)
    mailer.handle(_reply("out1"))
    assert [r.status for r in reports] == ["sent"]
    assert handler.received and handler.received[0][0] == USER
    assert handler.mechanisms == [smtp_mechanism(smtp)]  # XOAUTH2, or all it offers
    assert oauth2_server.refreshes == 0

    time.sleep(max(0.0, first.expires_at - time.time()) + 0.2)  # dead at the server now
    mailer.handle(_reply("out2"))
    assert [r.status for r in reports] == ["sent", "sent"]
    assert oauth2_server.refreshes == 1
    saved = KafkaTokenStore(settings).get("gw-smtp")
    assert saved is not None and saved.version == first.version + 1
    assert oauth2_server.active_refresh_tokens(USER) == [
        decrypt(settings, saved.refresh_token_encrypted)
    ]
    assert not handler.refused


def test_revoked_token_defers_the_mail_with_a_reason_and_no_secret(
    kafka_bootstrap: str,
    oauth2_server: OAuth2TestServer,
    xoauth2_smtp: tuple[Controller, XOAuth2SmtpHandler],
    tmp_path: Path,
) -> None:
    smtp, handler = xoauth2_smtp
    settings = _settings(kafka_bootstrap, smtp, tmp_path, "gw-smtp")
    record = connect_gateway(settings, oauth2_server, "gw-smtp", USER)
    oauth2_server.revoke_user(USER)
    reports: list[DeliveryReport] = []
    mailer = Mailer(settings, report=reports.append)
    mailer.handle(_reply("out1"))  # the token looked fresh: refused at AUTH, then no refresh
    assert [r.status for r in reports] == ["deferred"]
    assert "invalid_grant" in reports[0].detail and "reconnect" in reports[0].detail
    assert handler.refused == [USER] and not handler.received
    assert mailer.ledger.queued("out1")
    for secret in (record.access_token_encrypted, record.refresh_token_encrypted):
        assert decrypt(settings, secret) not in reports[0].detail
