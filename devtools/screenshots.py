"""Screenshots of pages of a running store, for docs/screenshots/ (the README links them).

    make run    # or any `supportdesk web` with data; then, in another shell:
    .venv/bin/python -m devtools.screenshots /admin/mail-log /admin/dead-letters \
        gateway-health=/admin/gateway-health

Logs in through the login form (default: the demo administrator of `make run`) and saves
each page, full length, as OUT/NAME.png; NAME defaults to the path's words
(/admin/mail-log -> admin-mail-log). A page that answers 400 or more is an error.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from devtools.browser import VIEWPORT, chromium_missing, launch, log_in


def shot_name(spec: str) -> tuple[str, str]:
    """'name=/path' or '/path' -> (name, path)."""
    name, sep, path = spec.partition("=")
    if not sep:
        path = spec
        name = re.sub(r"[^a-z0-9]+", "-", spec.lower()).strip("-") or "home"
    if not path.startswith("/"):
        raise argparse.ArgumentTypeError(f"{spec!r}: a page is /path or name=/path")
    return name, path


def take(
    browser: Any,
    base: str,
    pages: list[tuple[str, str]],
    out: Path,
    *,
    login: tuple[str, str, str] | None = None,
    width: int = VIEWPORT["width"],
) -> int:
    """Save each (name, path) as out/name.png after logging in (email, password, role);
    returns how many pages answered 400 or more (they are saved too, to see why)."""
    out.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": width, "height": VIEWPORT["height"]})
    try:
        page = context.new_page()
        if login:
            log_in(page, base, *login)
        failed = 0
        for name, path in pages:
            response = page.goto(base + path)
            status = response.status if response is not None else 0
            target = out / f"{name}.png"
            page.screenshot(path=str(target), full_page=True)
            print(f"{path} -> {target} ({status})")
            failed += status >= 400
        return failed
    finally:
        context.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m devtools.screenshots", description=__doc__)
    p.add_argument("pages", nargs="+", type=shot_name, metavar="[NAME=]/PATH")
    p.add_argument("--url", default="http://127.0.0.1:8000", help="the store's base URL")
    p.add_argument("--login", default="admin@company.net:admin-demo", help="EMAIL:PASSWORD")
    p.add_argument("--role", choices=("staff", "client"), default="staff")
    p.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    p.add_argument("--width", type=int, default=VIEWPORT["width"])
    args = p.parse_args(argv)
    if missing := chromium_missing():
        print(missing, file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    email, _, password = args.login.partition(":")
    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            failed = take(
                browser,
                args.url.rstrip("/"),
                args.pages,
                args.out,
                login=(email, password, args.role),
                width=args.width,
            )
        finally:
            browser.close()
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
