"""Local gateways: a Maildir on this machine (the seed's "local" gateway type)."""

from __future__ import annotations

import os
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

    def names(self) -> list[str]:
        """File names in new/, oldest first by name (Maildir names start with a time)."""
        return sorted(
            e.name
            for e in os.scandir(self.root / "new")
            if e.is_file() and not e.name.startswith(".")
        )

    def read(self, name: str) -> bytes | None:
        try:
            return (self.root / "new" / name).read_bytes()
        except FileNotFoundError:  # taken by a mail client meanwhile
            return None

    def counts(self) -> dict[str, int]:
        cur = sum(1 for e in os.scandir(self.root / "cur") if e.is_file())
        new = len(self.names())
        return {"messages": new + cur, "unseen": new}

    def mark_done(self, filenames: list[str], after_fetch: str) -> None:
        for name in filenames:
            src = self.root / "new" / name
            if after_fetch == "delete":
                src.unlink(missing_ok=True)
            elif src.exists():
                os.replace(src, self.root / "cur" / f"{name.split(':2,')[0]}:2,S")
