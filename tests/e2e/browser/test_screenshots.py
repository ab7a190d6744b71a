"""devtools.screenshots against a live store: it logs in and saves each page as a PNG."""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools import screenshots
from tests.e2e.browser.conftest import PASSWORD, World


def test_screenshots_of_given_pages(
    world: World, live_store: str, tmp_path: Path, chromium
) -> None:
    out = tmp_path / "shots"
    ann = ("ann@company.net", PASSWORD, "staff")
    pages = [screenshots.shot_name(s) for s in ("/admin/departments", "replies=/replies")]
    assert screenshots.take(chromium, live_store, pages, out, login=ann) == 0
    assert sorted(p.name for p in out.iterdir()) == ["admin-departments.png", "replies.png"]
    for png in out.iterdir():
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    # A page that is refused is saved too (to see why) and counts as failed.
    refused = [screenshots.shot_name("/tickets/999999")]
    assert screenshots.take(chromium, live_store, refused, out, login=ann) == 1
    assert (out / "tickets-999999.png").exists()
    with pytest.raises(RuntimeError, match="refused"):
        screenshots.take(chromium, live_store, pages, out, login=("ann@company.net", "x", "staff"))
