"""Outlook's winmail.dat (TNEF) becomes its real files and body; a broken or hostile one
stays as it was, with a note, and never costs more than its limits allow."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from kernel.config import MailLimits
from schemas.events import Decision, OpenTicket
from services.router.mail import parse
from services.router.pipeline import Router
from services.router.tnef import TnefError, unpack
from tests.unit.router import tnef_files as tf
from tests.unit.router.helpers import KEY, cpu_seconds, directory, raw_event, route_and_settle

CORPUS = Path(__file__).parents[2] / "corpus" / "tnef"
LIMITS = MailLimits()


def _files(data: bytes) -> list[tuple[str, str, bytes]]:
    return [(p.content_type, p.filename, p.payload) for p in parse(data).attachments]


def test_files_and_body_are_unpacked() -> None:
    tnef = tf.winmail(
        [("report.pdf", b"%PDF-1.4 report"), ("data.bin", b"a\x00b\x00")], body="Hello from Outlook"
    )
    mail = parse(tf.mail_with_tnef(tnef))
    assert [(p.content_type, p.filename, p.payload) for p in mail.attachments] == [
        ("application/pdf", "report.pdf", b"%PDF-1.4 report"),
        ("application/octet-stream", "data.bin", b"a\x00b\x00"),
    ]
    assert mail.text == "Hello from Outlook" and mail.notes == []


def test_the_mail_own_text_wins_over_the_tnef_body() -> None:
    tnef = tf.winmail([("a.txt", b"x")], body="the RTF twin of the text")
    mail = parse(tf.mail_with_tnef(tnef, text="Plain text part"))
    assert mail.text.strip() == "Plain text part"
    assert [p.filename for p in mail.attachments] == ["a.txt"]


def test_html_body_and_rtf_body() -> None:
    html = parse(tf.mail_with_tnef(tf.winmail(html="<p>Hi <b>there</b></p>")))
    assert html.html == "<p>Hi <b>there</b></p>" and html.body_text().strip() == "Hi there"
    rtf = tf.compressed_rtf(rb"{\rtf1\ansi Server {\b down} since 9:00\par}")
    mail = parse(tf.mail_with_tnef(tf.winmail(rtf=rtf)))
    assert mail.text.strip() == "Server down since 9:00"


def test_mime_tag_and_long_name() -> None:
    attachment = tf.file_attachment(
        "REPORT~1.DAT", b"{}", mime="application/json", long_name="r.json"
    )
    tnef = tf.stream(tf.attribute(tf.MSG, tf.MSG_PROPS, tf.props()), attachment)
    assert _files(tf.mail_with_tnef(tnef)) == [("application/json", "r.json", b"{}")]


def test_attached_outlook_item_is_flattened() -> None:
    inner = tf.winmail([("inner.txt", b"inner file")], body="forwarded body")
    tnef = tf.stream(
        tf.attribute(tf.MSG, tf.MSG_PROPS, tf.props()), tf.message_attachment("Fwd", inner)
    )
    assert _files(tf.mail_with_tnef(tnef)) == [
        ("text/plain", "Fwd.txt", b"forwarded body"),
        ("text/plain", "Fwd - inner.txt", b"inner file"),
    ]


@pytest.mark.parametrize(
    ("ctype", "name"),
    [("application/vnd.ms-tnef", "x.dat"), ("application/octet-stream", "WINMAIL.DAT")],
)
def test_found_by_type_or_by_name(ctype: str, name: str) -> None:
    tnef = tf.winmail([("a.txt", b"x")], body="b")
    data = tf.mail_with_tnef(tnef, content_type=ctype, filename=name)
    assert _files(data) == [("text/plain", "a.txt", b"x")]


def test_real_outlook_streams() -> None:
    """tnefparse's own samples (see tests/corpus/tnef/README.md)."""
    two = parse(tf.mail_with_tnef((CORPUS / "two-files.tnef").read_bytes()))
    assert [(p.filename, len(p.payload)) for p in two.attachments] == [
        ("AUTHORS", 244),
        ("README", 893),
    ]
    umlaut = parse(tf.mail_with_tnef((CORPUS / "umlaut.tnef").read_bytes()))
    assert "UmlautAnhang-äüö.txt" in [p.filename for p in umlaut.attachments]
    assert umlaut.text.startswith("TEST äöü")
    assert "aafgag" in parse(tf.mail_with_tnef((CORPUS / "rtf.tnef").read_bytes())).text
    assert "<html" in parse(tf.mail_with_tnef((CORPUS / "body.tnef").read_bytes())).html.lower()


def _kept_with_note(tnef: bytes, words: str, limits: MailLimits = LIMITS) -> None:
    mail = parse(tf.mail_with_tnef(tnef, text="Please see attached"), limits)
    assert [(p.content_type, p.filename, p.payload) for p in mail.attachments] == [
        ("application/ms-tnef", "winmail.dat", tnef)
    ]
    assert len(mail.notes) == 1 and words in mail.notes[0], mail.notes
    assert mail.text.startswith("Please see attached")
    assert f"[Supportdesk: {mail.notes[0]}]" in mail.text  # staff see it with the message


GOOD = tf.winmail([("a.txt", b"hello")], body="body")


@pytest.mark.parametrize(
    ("tnef", "words"),
    [
        (b"not a tnef stream at all", "no TNEF signature"),
        (GOOD[:70], "cut short"),  # inside the first attribute
        (GOOD[:-40], "cut short"),  # inside the file's properties: never a cut file
        ((CORPUS / "garbage-at-end.tnef").read_bytes(), "holds no file and no text"),
        # an attachment attribute before any attachment starts
        (tf.stream(tf.attribute(tf.ATT, tf.ATTACH_DATA, b"x" * 20)), "could not be unpacked"),
    ],
)
def test_broken_stream_is_kept_with_a_note(tnef: bytes, words: str) -> None:
    _kept_with_note(tnef, words)


@pytest.mark.parametrize(
    ("count", "limit"), [(12_000, "(tnef_attributes)"), (400_000, "(tnef_copy_bytes)")]
)
def test_many_tiny_attributes_are_refused_before_decoding(count: int, limit: str) -> None:
    """tnefparse copies the rest of the stream per attribute: quadratic in their number."""
    bomb = tf.stream(tf.attribute(tf.MSG, (0x8020, 0x0003), b"") * count)
    spent, _ = cpu_seconds(lambda: _kept_with_note(bomb, limit), 2.0)
    assert spent < 2.0


def test_copy_budget() -> None:
    files = [(f"f{i}.bin", b"z" * 200_000) for i in range(40)]
    limits = MailLimits(tnef_copy_bytes=50_000_000)
    _kept_with_note(tf.winmail(files), "(tnef_copy_bytes)", limits)


def test_huge_mapi_counts_are_refused() -> None:
    """decode_mapi loops on counts read from the data (up to 2**32)."""
    count = tf.attribute(tf.MSG, tf.MSG_PROPS, struct.pack("<I", 0xFFFFFFFF))
    _kept_with_note(tf.stream(count), "claims 4294967295 properties")
    multi = struct.pack("<I", 1) + struct.pack("<HHI", 0x1002, 0x6001, 0xFFFFFFF0) + b"\0" * 8
    _kept_with_note(tf.stream(tf.attribute(tf.MSG, tf.MSG_PROPS, multi)), "values")
    many = tf.props(*[tf.prop(tf.PT_LONG, 0x6000 + i % 256, i) for i in range(30_000)])
    _kept_with_note(tf.stream(tf.attribute(tf.MSG, tf.MSG_PROPS, many)), "(tnef_properties)")


def test_nested_outlook_items_beyond_the_depth() -> None:
    inner = tf.winmail([("deep.txt", b"deep")])
    for level in range(4):
        inner = tf.stream(tf.message_attachment(f"level{level}", inner))
    _kept_with_note(inner, "nested over 2 deep")


def test_too_many_files_for_the_mail() -> None:
    tnef = tf.winmail([(f"{i}.txt", b"x") for i in range(30)])
    _kept_with_note(tnef, "too many attachments", MailLimits(parts_per_mail=20))


def test_size_and_rtf_limits() -> None:
    _kept_with_note(GOOD, "(tnef_bytes)", MailLimits(tnef_bytes=100))
    rtf = tf.compressed_rtf(b"{\\rtf1 " + b"word " * 40_000 + b"}")
    mail = parse(tf.mail_with_tnef(tf.winmail([("a.txt", b"x")], rtf=rtf)))
    assert [p.filename for p in mail.attachments] == ["a.txt"]
    assert "(tnef_rtf_bytes)" in mail.notes[0]


def test_unpack_refuses_rather_than_raises() -> None:
    for data in (b"", b"\x78\x9f\x3e\x22", GOOD[:-1] + b"\xff", GOOD[:6] + b"\x01" * 40):
        try:
            got = unpack(data, LIMITS, 10)
        except TnefError as exc:  # the one exception it raises, with a reason
            assert str(exc)
        else:
            assert got.files == [] or all(isinstance(d, bytes) for _, _, d in got.files)


def test_a_ticket_carries_the_unpacked_files(tmp_path: Path) -> None:
    from kernel.blobs import BlobStore

    blobs = BlobStore(tmp_path)
    router = Router(directory(), KEY, blobs)
    tnef = tf.winmail([("invoice.pdf", b"%PDF-1.7 invoice")], body="See the invoice")
    raw = raw_event(tf.mail_with_tnef(tnef))
    outs = route_and_settle(router, raw.model_dump_json().encode())
    opened = [
        OpenTicket.model_validate_json(o.value()) for o in outs if o.topic == "ticket_commands"
    ]
    outcome = [o.event for o in outs if o.topic == "outcomes"]
    assert outcome[0].decision is Decision.TICKET_OPENED
    content = opened[0].content
    assert content.text == "See the invoice"
    assert [(a.filename, a.content_type, a.size) for a in content.attachments] == [
        ("invoice.pdf", "application/pdf", 16)
    ]
    assert blobs.get(content.attachments[0].blob_ref) == b"%PDF-1.7 invoice"
