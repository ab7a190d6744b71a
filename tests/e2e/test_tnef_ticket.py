"""An Outlook mail with winmail.dat becomes a ticket carrying the files inside it.

Real Dovecot, the fetcher, the broker, the faust router and the store (SQLite):
the ticket's message has the TNEF body as its text and the unpacked files as
its attachments, their bytes in the blob store; a broken winmail.dat in a
second mail stays attached as it was, with the note in the text.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from kernel.blobs import BlobStore
from kernel.crypto import encrypt
from services.fetcher.directory import read_gateways
from services.ticket_store import actions
from services.ticket_store.db import Database
from services.ticket_store.models import Message, Ticket
from tests.fixtures.dovecot import DEFAULT_PASSWORD, DEFAULT_USER, DovecotServer
from tests.fixtures.pipeline import Pipeline, wait_until
from tests.unit.router.tnef_files import mail_with_tnef, winmail

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00pixels" * 500


def test_winmail_dat_becomes_its_files(pipeline: Pipeline, dovecot: DovecotServer) -> None:
    settings = pipeline.settings.model_copy(update={"ca_file": str(dovecot.ca_path)})
    pipeline.settings = settings
    pipeline.env["SUPPORTDESK_CA_FILE"] = str(dovecot.ca_path)
    db = Database(settings.database_url, topics=settings.topics)
    with db.unit_of_work() as uow:
        dep = actions.departments.add_department(uow, "Technical support")
        actions.clients.add_client(uow, "Alice", ["alice@example.com"])
        gw = actions.gateways.add_gateway(
            uow, name="support", type="external", protocol="imap", host="127.0.0.1",
            port=dovecot.imaps_port, security="tls", verify_tls=True, username=DEFAULT_USER,
            password_encrypted=encrypt(settings, DEFAULT_PASSWORD), address=DEFAULT_USER,
            department_id=dep.id, poll_interval_s=10,
        )  # fmt: skip
        gateway_id = gw.id
    pipeline.start("store")
    pipeline.start("router")
    wait_until(
        lambda: gateway_id in read_gateways(settings.kafka_bootstrap, settings.topics.gateways),
        60,
        "the gateway on directory.gateways",
    )
    tnef = winmail([("invoice.pdf", PDF), ("screenshot.png", PNG)], body="Invoice attached.")
    broken = tnef[:200]  # cut in the middle of the first file
    dovecot.save(DEFAULT_USER, mail_with_tnef(tnef, subject="Outlook invoice"))
    cut_mail = mail_with_tnef(
        broken, text="Cut short", subject="Cut short", message_id="<tnef-cut@example.com>"
    )
    dovecot.save(DEFAULT_USER, cut_mail)
    done = pipeline.run("fetcher", "--once")
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()

    def messages() -> dict[str, Message]:
        with db.transaction() as s:
            rows = s.scalars(
                select(Message).join(Ticket).options(selectinload(Message.attachments))
            ).all()
            return {m.ticket.subject: m for m in rows} if len(rows) == 2 else {}

    got = wait_until(messages, 90, "two tickets")
    pipeline.assert_running()
    blobs = BlobStore(settings.blob_dir)
    invoice = got["Outlook invoice"]
    assert invoice.text == "Invoice attached."
    files = {a.filename: a for a in invoice.attachments}
    assert {n: (a.content_type, a.size) for n, a in files.items()} == {
        "invoice.pdf": ("application/pdf", len(PDF)),
        "screenshot.png": ("image/png", len(PNG)),
    }
    assert blobs.get(files["invoice.pdf"].blob_ref) == PDF
    assert blobs.get(files["screenshot.png"].blob_ref) == PNG
    cut = got["Cut short"]
    assert [(a.filename, a.content_type, a.size) for a in cut.attachments] == [
        ("winmail.dat", "application/ms-tnef", len(broken))
    ]
    assert blobs.get(cut.attachments[0].blob_ref) == broken
    assert cut.text.startswith("Cut short")
    assert "[Supportdesk: winmail.dat (Outlook TNEF) could not be unpacked (cut short" in cut.text
    db.dispose()
