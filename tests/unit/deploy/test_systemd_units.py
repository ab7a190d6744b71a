"""The systemd units: one per service, each starting a real subcommand, restarted on
failure, and hardened."""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

import pytest

from supportdesk.cli import build_parser

UNITS = Path(__file__).resolve().parents[3] / "deploy" / "systemd"
SERVICES = ("store", "router", "fetcher", "mailer", "web", "lmtp")


def _unit(name: str) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read(UNITS / f"supportdesk-{name}.service")
    return parser["Service"]


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_has_a_restarting_hardened_unit(name: str) -> None:
    service = _unit(name)
    argv = shlex.split(service["ExecStart"])
    assert argv[0].endswith("/supportdesk") and argv[1] == name
    build_parser().parse_args(argv[1:])  # a subcommand the CLI really has
    assert service["Restart"] == "on-failure"
    assert service["UMask"] == "0077"
    assert service["User"] == "supportdesk"
    for key in ("NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp"):
        assert service[key] in ("yes", "strict"), key
    assert service["ReadWritePaths"] == "/var/lib/supportdesk"


def test_no_unit_for_a_service_that_does_not_exist() -> None:
    assert sorted(p.stem for p in UNITS.glob("*.service")) == sorted(
        f"supportdesk-{name}" for name in SERVICES
    )


def test_the_router_unit_gives_the_router_its_priority() -> None:
    """The router asks for nice -10 itself, which an unprivileged user may not: the
    unit sets the same value before the service drops root."""
    from kernel.config import Settings

    assert int(_unit("router")["Nice"]) == Settings().router_nice
    assert all("Nice" not in _unit(name) for name in SERVICES if name != "router")
