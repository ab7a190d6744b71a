"""Log lines cannot be forged: control characters in a message come out escaped."""

from __future__ import annotations

import logging

from services.ticket_store.http.logs import EscapedRecord, escape_controls, escape_log_lines


def test_control_characters_are_escaped() -> None:
    assert escape_controls("gw\r\nINFO fake\x00\x1b[31m\u2028") == (
        "gw\\x0d\\x0aINFO fake\\x00\\x1b[31m\\u2028"
    )
    assert escape_controls("plain text, tabs\tand é") == "plain text, tabs\\x09and é"


def test_every_record_of_the_process_is_escaped(caplog) -> None:
    before = logging.getLogRecordFactory()
    try:
        escape_log_lines()
        assert logging.getLogRecordFactory() is EscapedRecord
        escape_log_lines()  # twice is once
        with caplog.at_level(logging.INFO):
            logging.getLogger("test").info("gateway %s added", "Main\r\nERROR forged")
        assert caplog.messages == ["gateway Main\\x0d\\x0aERROR forged added"]
        assert "\n" not in caplog.text.strip()
    finally:
        logging.setLogRecordFactory(before)
