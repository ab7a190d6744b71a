"""A canned replay runner for tests of the Replay page that need no broker or router (the
authorisation matrix, the browser test): it keeps a fixed report as the real one does."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from schemas.replay import (
    ApplyResult,
    GoneMail,
    MatrixCell,
    ReplayReport,
    ReplayRow,
    ReplaySelection,
)

SUBJECT = "Printer on fire"  # the changed mail's subject, shown in the report


def canned_report(selection: ReplaySelection, apply: bool, actor: str) -> ReplayReport:
    """A mistyped gateway's two mails: one to become a ticket, one gone from mail.raw."""
    row = ReplayRow(
        email_id="e-replayed", gateway_id="gw", from_address="zoe@example.com",
        subject=SUBJECT, old_decision="ignored_recipient", old_rule="recipient",
        new_decision="ticket_opened", new_rule="client", new_reason="a client's new mail",
        action="apply",
    )  # fmt: skip
    report = ReplayReport(
        replay_id=uuid.uuid4().hex[:12], requested_by=actor, selection=selection,
        scanned=2, selected=2, counts={"apply": 1, "gone": 1},
        matrix=[MatrixCell(old="ignored_recipient", new="ticket_opened", count=1)],
        changed=[row], finished_at=datetime.now(UTC), seconds=0.2,
        gone=[GoneMail(email_id="e-gone", gateway_id="gw", old_decision="ignored_recipient",
                       why="past mail.raw's retention")],
    )  # fmt: skip
    if apply:
        report.mode = "apply"
        report.applied = ApplyResult(sent=1, confirmed=1, outcomes={"ticket_opened": 1})
    return report


def install_canned_runner(app: Any, var_dir: Path) -> list[tuple[ReplaySelection, bool, str]]:
    """The app's Replay page runs `canned_report`, kept under var_dir/replays; the calls."""
    app.state.settings = app.state.settings.model_copy(update={"var_dir": var_dir})
    calls: list[tuple[ReplaySelection, bool, str]] = []

    def run(selection: ReplaySelection, apply: bool, actor: str) -> ReplayReport:
        calls.append((selection, apply, actor))
        report = canned_report(selection, apply, actor)
        folder = var_dir / "replays"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"replay-{report.replay_id}.json").write_text(report.model_dump_json())
        return report

    app.state.replay_runner = run
    return calls
