"""`supportdesk up` runs the LMTP gateway only when a local gateway is set up for LMTP."""

from __future__ import annotations

from pathlib import Path

from kernel.config import Settings, Topics
from services.ticket_store import actions
from services.ticket_store.db import Database, upgrade
from supportdesk.cli import build_parser
from supportdesk.cli_lmtp import lmtp_wanted


def test_lmtp_is_wanted_once_an_enabled_lmtp_gateway_exists(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path)
    upgrade(settings.database_url)
    db = Database(settings.database_url, topics=Topics())
    with db.unit_of_work() as uow:
        dep = actions.departments.add_department(uow, "Technical support")
        actions.gateways.add_gateway(
            uow, name="box", type="local", protocol="maildir", maildir_path=str(tmp_path),
            address="box@company.net", department_id=dep.id,
        )  # fmt: skip
        dep_id = dep.id
    assert not lmtp_wanted(settings)  # a Maildir gateway is the fetcher's
    with db.unit_of_work() as uow:
        actions.gateways.add_gateway(
            uow, name="pushed", type="local", protocol="lmtp", address="support@company.net",
            department_id=dep_id, enabled=False,
        )  # fmt: skip
    assert not lmtp_wanted(settings)  # disabled
    with db.unit_of_work() as uow:
        actions.gateways.edit_gateway(uow, "pushed", enabled=True)
    assert lmtp_wanted(settings)
    db.dispose()


def test_lmtp_is_a_subcommand() -> None:
    args = build_parser().parse_args(["lmtp"])
    assert args.fn.__name__ == "cmd_lmtp"
