"""The admin CLI's lists show the same presenters as the API, from the demo data (SQLite)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kernel.config import get_settings
from supportdesk.cli import main


@pytest.fixture
def demo_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SUPPORTDESK_DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    get_settings.cache_clear()
    assert main(["db", "upgrade"]) == 0
    assert main(["demo", "load", "--var", str(tmp_path / "var")]) == 0
    yield tmp_path
    get_settings.cache_clear()


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict[str, object]]:
    capsys.readouterr()
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_lists_show_the_directory_as_the_api_does(
    demo_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deps = _json(capsys, "department", "list")
    assert [(d["name"], d["per_incident"]) for d in deps] == [
        ("Technical support", False),
        ("Sales", True),
    ]
    clients = {c["name"]: c for c in _json(capsys, "client", "list")}
    assert clients["Alice Client"]["incidents_left"] == 3
    assert clients["Bob Client"]["emails"] == ["bob@example.org"]
    assert "password_hash" not in clients["Alice Client"]
    staff = {s["email"]: s for s in _json(capsys, "staff", "list")}
    assert staff["gary@company.net"]["department_ids"] == [d["id"] for d in deps]
    assert {r["scope"] for r in _json(capsys, "reply", "list")} == {"all", "department", "staff"}
    assert _json(capsys, "tickets", "list") == []
    assert _json(capsys, "incoming", "list") == []


def test_a_table_keeps_one_line_per_row(demo_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["reply", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["ID", "TITLE", "SCOPE"]
    assert len(lines) == 1 + 3  # header and the demo's three replies, line breaks folded


def test_an_admin_error_is_a_message_not_a_traceback(
    demo_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["department", "add", "Sales"]) == 2
    assert "a department named 'Sales' exists" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["client", "add", "Eve", "--email", "a@b.c\r\nBcc: x@y.z"],
        ["client", "add", "Eve", "--email", "Eve <eve@example.org>"],
        ["client", "add", "Eve\r\nX-Injected: 1", "--email", "eve@example.org"],
        ["department", "add", "\x00"],
        ["reply", "add", "--title", "Hi\nthere", "--text", "x"],
        ["reply", "add", "--title", "Hi", "--text", "a\x00b"],
    ],
)
def test_the_cli_refuses_what_the_api_refuses(
    demo_db: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    with pytest.raises(SystemExit) as refused:
        main(argv)
    assert refused.value.code == 2
    err = capsys.readouterr().err
    assert "one plain email address" in err or "control characters" in err or "NUL" in err
    assert _json(capsys, "client", "list")[-1]["name"] == "Bob Client"  # nothing was added
