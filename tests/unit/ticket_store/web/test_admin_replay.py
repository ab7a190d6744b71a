"""The Replay page's pieces without a server: the selection form as browsers send it, the
kept reports (newest first, unreadable ones left out, no path out of the folder), and what
applying a report re-processes."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from schemas.replay import ReplayReport, ReplaySelection
from services.ticket_store.web.admin_replay import (
    ReplayForm,
    kept_report,
    kept_reports,
    to_apply,
)
from services.ticket_store.web.common import Refused
from services.ticket_store.web.forms import Posted
from tests.integration.web.replay_page import canned_report


def _selection(**raw: object) -> ReplaySelection:
    return Posted(ReplayForm, {"csrf_token": "t", **raw}).valid().selection()


def test_the_form_becomes_a_selection() -> None:
    sel = _selection(since="2026-11-01T08:30", until="2026-12-01T00:00+01:00",
                     gateway_ids=["gw", ""], email_ids="e1\ne2, e1",
                     decisions=["ignored_recipient", "none"])  # fmt: skip
    assert sel.since == datetime(2026, 11, 1, 8, 30, tzinfo=UTC)  # UTC unless it says
    assert sel.until is not None and sel.until.utcoffset() is not None
    assert sel.until.astimezone(UTC) == datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
    assert (sel.gateways, sel.email_ids) == (("gw",), ("e1", "e2"))
    assert sel.decisions == ("ignored_recipient", "none")
    assert _selection() == ReplaySelection()  # nothing given: all of mail.raw


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ({"since": "yesterday"}, "YYYY-MM-DD HH:MM"),
        ({"decisions": ["ticket_opened", "whatever"]}, "recorded decisions from the list"),
        ({"since": "2026-12-01T00:00", "until": "2026-11-01T00:00"}, "must come before"),
        ({"email_ids": "x" * 201}, "at most 10000 email ids"),
    ],
)
def test_a_bad_selection_is_refused_in_words(raw: dict, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        _selection(**raw)


def test_kept_reports_newest_first(tmp_path: Path) -> None:
    older, newer = (canned_report(ReplaySelection(), False, "staff:1") for _ in range(2))
    for age, report in ((100, older), (0, newer)):
        path = tmp_path / f"replay-{report.replay_id}.json"
        path.write_text(report.model_dump_json())
        os.utime(path, (path.stat().st_atime, path.stat().st_mtime - age))
    (tmp_path / "replay-broken.json").write_text("{not json")
    (tmp_path / "replay-x.csv").write_text("not a report")
    assert [r.replay_id for r in kept_reports(tmp_path)] == [newer.replay_id, older.replay_id]
    assert kept_report(tmp_path, older.replay_id) == older
    for bad in ("../secret", "nope", "a/b"):
        with pytest.raises(Refused) as refused:
            kept_report(tmp_path, bad)
        assert refused.value.status == 404


def test_applying_takes_the_dry_runs_apply_mails_only() -> None:
    dry = canned_report(ReplaySelection(), False, "staff:1")
    keep = dry.changed[0].model_copy(update={"email_id": "e-kept", "action": "keep"})
    dry.changed.append(keep)
    assert to_apply(dry) == ["e-replayed"]
    applied: ReplayReport = canned_report(ReplaySelection(), True, "staff:1")
    assert to_apply(applied) == []  # an applied report is never applied again
