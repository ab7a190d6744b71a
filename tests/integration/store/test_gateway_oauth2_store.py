"""The store keeps each gateway's OAuth2 state from gateway.tokens (SQLite and PostgreSQL):
a rotation's refresh token, a refused refresh's reason; older or repeated records change
nothing, and a gateway without OAuth2 settings is left alone."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.fernet import Fernet
from pydantic import SecretStr

from kernel.config import Settings
from kernel.crypto import decrypt
from kernel.oauth2.records import TokenRecord
from services.ticket_store import actions
from services.ticket_store.actions import gateway_oauth2
from services.ticket_store.consumer.operations import OperationsApplier
from services.ticket_store.db import Database, upgrade
from services.ticket_store.models import Gateway
from services.ticket_store.models_oauth2 import GatewayOAuth2


@dataclass
class Rec:
    topic: str
    key: bytes | None
    value: bytes | None
    partition: int = 0
    offset: int = 0


def test_rotations_and_failures_from_gateway_tokens_land_on_the_gateway(
    database_url: str, tmp_path
) -> None:
    upgrade(database_url)
    settings = Settings(
        database_url=database_url,
        blob_dir=tmp_path / "blobs",
        secret_key=SecretStr(Fernet.generate_key().decode()),
    )
    t = settings.topics
    db = Database(database_url, topics=t)
    with db.unit_of_work() as uow:
        dep = actions.departments.add_department(uow, "Technical support")
        gw = actions.gateways.add_gateway(
            uow, name="m365", type="external", protocol="imap", host="outlook.office365.com",
            username="support@company.net", address="support@company.net", department_id=dep.id,
        )  # fmt: skip
        gateway_oauth2.save_settings(uow, gw, provider_name="microsoft", client_id="app-id")
        base = TokenRecord(
            gateway_id=gw.id, version=1000, token_url="https://t", client_id="app-id",
            username="support@company.net",
        )  # fmt: skip
        connected = base.with_tokens(settings, {"access_token": "a0", "refresh_token": "r0"})
        gateway_oauth2.finish_connect(
            uow, gateway_oauth2.settings_of(uow.session, gw.id), connected
        )
        gw_id = gw.id
    rotated = connected.with_tokens(settings, {"access_token": "a1", "refresh_token": "r1"})
    failed = rotated.failed("refresh token refused by the provider (invalid_grant)")
    other = TokenRecord(gateway_id="no-such", token_url="t", client_id="c", username="u")

    def key(r: TokenRecord) -> bytes:
        return r.gateway_id.encode()

    applier = OperationsApplier(settings)
    with db.unit_of_work() as uow:
        used = applier.apply(uow, [
            Rec(t.gateway_tokens, key(rotated), rotated.model_dump_json().encode()),
            Rec(t.gateway_tokens, key(other), other.model_dump_json().encode()),
        ])  # fmt: skip
    assert used == 1
    with db.transaction() as s:
        row = s.get(GatewayOAuth2, gw_id)
        assert row.status == "connected" and row.token_version == rotated.version
        assert decrypt(settings, row.refresh_token_encrypted) == "r1"
        assert s.get(Gateway, gw_id).auth == "oauth2"

    with db.unit_of_work() as uow:
        applier.apply(uow, [Rec(t.gateway_tokens, key(failed), failed.model_dump_json().encode())])
    with db.unit_of_work() as uow:  # redelivered older record: nothing changes
        assert (
            applier.apply(
                uow, [Rec(t.gateway_tokens, key(rotated), rotated.model_dump_json().encode())]
            )
            == 0
        )
    with db.transaction() as s:
        row = s.get(GatewayOAuth2, gw_id)
        assert row.status == "failed" and "invalid_grant" in row.reason
        assert row.token_version == failed.version
        assert decrypt(settings, row.refresh_token_encrypted) == "r1"
