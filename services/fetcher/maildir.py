"""Local gateways: a Maildir on this machine (the seed's "local" gateway type)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class MaildirMail:
    filename: str
    data: bytes


class LocalMaildir:
    def __init__(self, path: str | Path) -> None:
        self.root = Path(path)
        for sub in ("new", "cur", "tmp"):
            if not (self.root / sub).is_dir():
                raise FileNotFoundError(f"{self.root} is not a Maildir (no {sub}/)")

    def new(self) -> Iterator[MaildirMail]:
        for entry in sorted(os.scandir(self.root / "new"), key=lambda e: e.name):
            if entry.is_file() and not entry.name.startswith("."):
                yield MaildirMail(filename=entry.name, data=Path(entry.path).read_bytes())

    def mark_done(self, filenames: list[str], after_fetch: str) -> None:
        for name in filenames:
            src = self.root / "new" / name
            if after_fetch == "delete":
                src.unlink(missing_ok=True)
            elif src.exists():
                os.replace(src, self.root / "cur" / f"{name.split(':2,')[0]}:2,S")
