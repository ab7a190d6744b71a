"""Rule 4: no text in any part (HTML reduced to text) and no attachments -> ignored."""

from __future__ import annotations

import pytest

from schemas.events import Decision
from services.router.rules import empty
from tests.unit.router.helpers import context

HEAD = "From: alice@example.com\r\nTo: support@company.net\r\nSubject: something\r\n"


def multipart(*parts: str) -> bytes:
    body = "".join(f"--B\r\n{p}\r\n" for p in parts) + "--B--\r\n"
    return (HEAD + 'Content-Type: multipart/mixed; boundary="B"\r\n\r\n' + body).encode()


CASES = [
    ("no body", (HEAD + "\r\n").encode(), True),
    ("whitespace only", (HEAD + "\r\n  \r\n\t\r\n \r\n").encode(), True),
    (
        "nbsp only",
        (HEAD + "Content-Type: text/plain; charset=utf-8\r\n\r\n\u00a0 \u00a0\r\n").encode(),
        True,
    ),
    ("text", (HEAD + "\r\nhello\r\n").encode(), False),
    (
        "html tags only",
        (
            HEAD + "Content-Type: text/html\r\n\r\n<html><body><p>&nbsp;</p><br></body></html>"
        ).encode(),
        True,
    ),
    (
        "html comment and style only",
        (
            HEAD + "Content-Type: text/html\r\n\r\n<style>p{}</style><!-- hi --><div> </div>"
        ).encode(),
        True,
    ),
    (
        "html with text",
        (HEAD + "Content-Type: text/html\r\n\r\n<p>Server <b>down</b></p>").encode(),
        False,
    ),
    (
        "empty parts",
        multipart("Content-Type: text/plain\r\n\r\n ", "Content-Type: text/html\r\n\r\n<p></p>"),
        True,
    ),
    (
        "text in second part",
        multipart("Content-Type: text/plain\r\n\r\n ", "Content-Type: text/plain\r\n\r\nhi"),
        False,
    ),
    (
        "attachment only",
        multipart(
            'Content-Type: application/pdf\r\nContent-Disposition: attachment; filename="a.pdf"\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK"
        ),
        False,
    ),
    (
        "inline image only",
        multipart(
            'Content-Type: image/png\r\nContent-Disposition: inline; filename="x.png"\r\n\r\nPNG'
        ),
        False,
    ),
]


@pytest.mark.parametrize(("name", "data", "is_empty"), CASES, ids=[c[0] for c in CASES])
def test_empty(name: str, data: bytes, is_empty: bool) -> None:
    mail, ctx = context(data)
    verdict = empty.check(mail, ctx)
    if is_empty:
        assert verdict is not None and verdict.decision is Decision.IGNORED_EMPTY
    else:
        assert verdict is None
