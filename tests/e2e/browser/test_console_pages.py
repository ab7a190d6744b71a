"""The operations console in a real browser, as an administrator: the mail log searched, a
mail's page with its raw source from the real broker's mail.raw (and its .eml download),
dead letters chosen and reprocessed, gateway health, and replay (a dry run chosen in the
form, its report, applied after the confirmation). Every page goes through axe-core.

SUPPORTDESK_SCREENSHOTS=docs/screenshots saves each console page there (for the README).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from schemas import codec
from schemas.events import DeadLetter, Decision, RawEmail
from services.ticket_store.actions import operations
from services.ticket_store.models import Gateway, OutboxEvent
from services.ticket_store.models_operations import DeadLetterRecord
from tests.e2e.browser.conftest import Desk, World
from tests.integration.web.replay_page import SUBJECT, install_canned_runner
from tests.integration.web.test_operations_pages import (
    RAW,
    _locate,
    _outcome,
    _publish,
    _raw_event,
    _with_broker,
)


def _shoot(page: Any, name: str) -> None:
    """The page as shown, into SUPPORTDESK_SCREENSHOTS when set (docs/screenshots/)."""
    if folder := os.environ.get("SUPPORTDESK_SCREENSHOTS"):
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def _mails(world: World, bootstrap: str, topic: str) -> None:
    """Two mails in mail.raw with their outcomes, and a gateway with a health report."""
    _with_broker(world, bootstrap, topic)
    inline = _raw_event("e-inline")
    offset = _publish(bootstrap, topic, inline)
    _locate(world, topic, inline, offset, "zoe@example.com", "Broken printer")
    blob = _raw_event("e-blob", raw_b64=None, blob_ref="sha256:" + "ab" * 32)
    _locate(world, topic, blob, _publish(bootstrap, topic, blob), "max@example.org", "Big file")
    _outcome(world, "e-inline", Decision.INCOMING, "client", 3)
    _outcome(world, "e-blob", Decision.MALFORMED, "parse", 2)
    with world.db.unit_of_work() as uow:
        uow.session.add(Gateway(
            id="gw", name="Sales mailbox", address="sales@company.net",
            department_id=world.sales, poll_interval_s=60, password_encrypted="S3cret-Password",
        ))  # fmt: skip
        uow.flush()
        now = datetime.now(UTC)  # not the import time: a late report would be stale
        operations.record_health(uow, operations.HealthReport(
            gateway_id="gw", status="ok", idle=True, owner="host-a", last_success=now,
            updated_at=now,
        ))  # fmt: skip
        operations.record_dead_letter(uow, DeadLetter(
            email_id="e-inline", gateway_id="gw", stage="router.parse", reason="blob gone",
        ))  # fmt: skip


def test_operations_console(
    world: World, desk, kafka_bootstrap: str, kafka_topic_prefix: str
) -> None:
    topic = f"{kafka_topic_prefix}.mail.raw"
    _mails(world, kafka_bootstrap, topic)
    ann: Desk = desk()
    ann.sign_in(world, "ann")
    ann.goto("/admin/departments")
    page = ann.click("nav.subnav a", has_text="Mail log")
    rows = page.locator("tr.mail-row")
    assert rows.count() == 2 and "Big file" in rows.first.inner_text()  # newest first
    _shoot(page, "mail-log")
    page.get_by_label("Sender").fill("ZOE")
    page = ann.click("form.filters button")
    assert page.locator("tr.mail-row").all_inner_texts()[0].count("Broken printer") == 1
    assert page.locator("tr.mail-row").count() == 1
    page = ann.click("tr.mail-row a", has_text="Broken printer")
    assert page.locator("h1").inner_text() == "Broken printer"
    assert page.locator("dd.decision").inner_text() == "incoming"
    assert "Subject: Broken printer" in page.locator("pre.raw-source").inner_text()
    _shoot(page, "mail")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download as .eml").click()
    assert Path(download.value.path()).read_bytes() == RAW
    page = ann.goto("/admin/mail-log/e-blob")
    assert "is missing from the blob store" in page.locator("p.missing").inner_text()

    page = ann.goto("/admin/dead-letters")
    assert "blob gone" in page.locator("tr.dead-letter-row").inner_text()
    _shoot(page, "dead-letters")
    page.get_by_label("Choose dead letter").check()
    page = ann.click("form[action='/admin/dead-letters/reprocess'] button[type=submit]")
    assert page.locator("p.notice").inner_text().startswith("1 reprocessed")
    with world.db.transaction() as s:
        letter = s.scalars(select(DeadLetterRecord)).one()
        assert (letter.status, letter.reprocessed_by) == (
            "reprocessing",
            f"staff:{world.ids['ann']}",
        )
        out = s.scalars(select(OutboxEvent).where(OutboxEvent.topic == topic)).all()
        assert [codec.loads(RawEmail, e.value).email_id for e in out] == ["e-inline"]
        letter_id = letter.id
    page = ann.goto(f"/admin/dead-letters/{letter_id}")
    assert page.locator("dd.status").inner_text().startswith("reprocessing")
    _shoot(page, "dead-letter")

    page = ann.goto("/admin/gateway-health")
    row = page.locator("tr.gateway-health-row")
    assert row.count() == 1 and "Sales mailbox" in row.inner_text()
    assert "S3cret-Password" not in page.content()
    _shoot(page, "gateway-health")


def test_replay_console(world: World, desk, tmp_path: Path) -> None:
    """The Replay page with a canned runner (the real one runs in
    tests/integration/web/test_admin_replay.py): a selection chosen in the form, the dry run's
    report, the confirmation, the applied report, and both listed."""
    runs = install_canned_runner(world.app.app, tmp_path)
    with world.db.unit_of_work() as uow:
        uow.session.add(Gateway(id="gw", name="Sales mailbox", address="sales@company.net",
                                department_id=world.sales))  # fmt: skip
    ann: Desk = desk()
    ann.sign_in(world, "ann")
    ann.goto("/admin/departments")
    page = ann.click("nav.subnav a", has_text="Replay")
    assert page.locator("p.empty").inner_text() == "No replay reports yet."
    page.get_by_label("Gateways").select_option("gw")
    page.get_by_label("ignored_recipient", exact=True).check()
    page.get_by_label("From (UTC)").fill("2026-11-01T00:00")
    page = ann.click("form.replay-selection button[type=submit]")
    assert page.locator("h1").inner_text().startswith("Replay ")
    assert SUBJECT in page.locator("tr.changed").inner_text()
    assert "past mail.raw's retention" in page.locator("section.replay-report").inner_text()
    _shoot(page, "replay-report")
    page = ann.click("a", has_text="Apply this replay")
    assert "1 mail(s)" in page.locator("main").inner_text()
    page = ann.click("button[name=confirm]")
    assert "Outcomes confirmed" in page.locator("section.replay-report").inner_text()
    assert page.get_by_text("Apply this replay").count() == 0
    page = ann.goto("/admin/replay")
    assert page.locator("tr.replay-row").count() == 2
    _shoot(page, "replay")
    actor = f"staff:{world.ids['ann']}"
    assert [(sel.gateways, sel.decisions, apply, who) for sel, apply, who in runs] == [
        (("gw",), ("ignored_recipient",), False, actor),
        (("gw",), ("ignored_recipient",), True, actor),
    ]
    assert runs[1][0].email_ids == ("e-replayed",)  # exactly what the dry run would change
    assert runs[0][0].since == datetime(2026, 11, 1, tzinfo=UTC)
