"""The replay report as files: JSON round trip, CSV rows, HTML that escapes mail's text."""

from __future__ import annotations

import csv
import io

from schemas.replay import ApplyResult, GoneMail, MatrixCell, ReplayReport, ReplayRow
from schemas.replay_html import render_body, render_html


def _report() -> ReplayReport:
    row = ReplayRow(email_id="e1", gateway_id="gw", from_address="x@example.org",
                    subject="<script>alert(1)</script> & co", old_decision="ignored_recipient",
                    new_decision="ticket_opened", new_rule="client", new_reason="known client",
                    ticket_id="T1", action="apply")  # fmt: skip
    return ReplayReport(
        replay_id="r1", mode="apply", counts={"apply": 1, "gone": 1},
        matrix=[MatrixCell(old="ignored_recipient", new="ticket_opened", count=1)],
        changed=[row], gone=[GoneMail(email_id="e2", why="raw bytes unavailable")],
        applied=ApplyResult(sent=1, confirmed=1, outcomes={"ticket_opened": 1}),
    )  # fmt: skip


def test_json_csv_and_html() -> None:
    report = _report()
    assert ReplayReport.model_validate_json(report.model_dump_json()) == report
    rows = list(csv.DictReader(io.StringIO(report.to_csv())))
    assert [(r["email_id"], r["action"]) for r in rows] == [("e1", "apply"), ("e2", "gone")]
    assert rows[0]["subject"] == "<script>alert(1)</script> & co"
    page = render_html(report)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page
    assert page.startswith("<!DOCTYPE html>") and render_body(report) in page
    assert "Commands sent" in page and "raw bytes unavailable" in page
    assert "ignored_recipient -> ticket_opened" in report.summary().replace("  ", "")
