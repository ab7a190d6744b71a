"""The life cycle the throwaway servers in a temp dir share (Dovecot, Postfix).

No pytest here: the benchmarks use these too, and bench/ never imports tests/.
"""

from __future__ import annotations

import atexit
import shutil
from pathlib import Path
from typing import Self


class ThrowawayServer:
    """A server whose files all live in `dir`: `with` starts it, then stops it and deletes
    the dir; so does interpreter exit when a crashed run skipped that."""

    dir: Path

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def clean_up_at_exit(self) -> None:
        """Called by the subclass once `dir` exists."""
        atexit.register(self.cleanup)

    def cleanup(self) -> None:
        """Stop and delete the temp dir."""
        atexit.unregister(self.cleanup)
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()
