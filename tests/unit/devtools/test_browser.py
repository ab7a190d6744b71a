"""Without Chromium the browser tests fail under CI=true and skip elsewhere, never pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools import browser, screenshots
from tests.fixtures import browser as fixtures


def test_a_missing_chromium_fails_under_ci_and_skips_elsewhere(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(browser, "CHROMIUM", tmp_path / "no-chromium")
    assert "no-chromium not found" in (browser.chromium_missing() or "")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="install-system-deps"):
        fixtures.need_chromium()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        fixtures.need_chromium()


def test_screenshot_names() -> None:
    assert screenshots.shot_name("/admin/mail-log") == ("admin-mail-log", "/admin/mail-log")
    assert screenshots.shot_name("health=/admin/gateway-health?x=1") == (
        "health",
        "/admin/gateway-health?x=1",
    )
    assert screenshots.shot_name("/") == ("home", "/")
    with pytest.raises(Exception, match="a page is /path"):
        screenshots.shot_name("admin")
