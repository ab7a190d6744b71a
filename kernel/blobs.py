"""A content-addressed blob store: the claim check for large mail.

Kafka's default 1 MB message limit stays as it is; mail above the inline
limit is written here first and the event carries `sha256:<hex>`. A local
directory by default; any shared filesystem works across machines.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import tempfile
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


def private_dirs(path: Path) -> None:
    """Make `path` and any missing parents 0700 (mkdir's parents=True would use the umask)."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made by a concurrent writer
            directory.mkdir(mode=0o700)


class BlobStore:
    """Blobs are fsynced before `put` returns, unless a ``sync_executor`` is given:
    then `put` hands the fsync to it and returns at once, and the caller waits for
    `take_pending` before publishing anything that refers to those blobs (the
    fsyncs run while it keeps working, and concurrent fsyncs share journal commits)."""

    def __init__(self, root: Path, *, sync_executor: Executor | None = None) -> None:
        self.root = Path(root)
        self.sync_executor = sync_executor
        self._pending: list[Future[None]] = []
        self._dirs: set[Path] = set()  # fan-out directories known to exist

    def _path(self, digest: str) -> Path:
        return self.root / digest[:2] / digest[2:4] / digest

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        path = self._path(digest)
        if _touch(path):  # stored already: its time is now the newest reference's (see gc)
            return f"sha256:{digest}"
        if not os.path.exists(path):
            if path.parent not in self._dirs:
                private_dirs(path.parent)
                self._dirs.add(path.parent)
            try:
                fd, tmp = tempfile.mkstemp(dir=path.parent)
            except FileNotFoundError:  # removed under us since we made it
                private_dirs(path.parent)
                fd, tmp = tempfile.mkstemp(dir=path.parent)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                if self.sync_executor is None:
                    os.fsync(f.fileno())
            os.replace(tmp, path)
            if self.sync_executor is not None:
                self._pending.append(self.sync_executor.submit(self.sync_file, path))
        return f"sha256:{digest}"

    def take_pending(self) -> list[Future[None]]:
        """The fsyncs started since the last call; a blob is durable once its future is done."""
        pending, self._pending = self._pending, []
        return pending

    async def wait_synced(self) -> None:
        """Wait until the blobs written so far are on disk, before any output that refers
        to them is produced. Their fsyncs started in threads as each was written, so most
        of the wait overlapped with the writer's other work."""
        pending = self.take_pending()
        if not pending:
            return
        try:
            await asyncio.gather(*(asyncio.wrap_future(f) for f in pending))
        except OSError:
            log.exception("fsync of %d blobs failed: may not survive a power loss", len(pending))

    @staticmethod
    def sync_file(path: Path) -> None:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def get(self, ref: str) -> bytes:
        scheme, _, digest = ref.partition(":")
        if (
            scheme != "sha256"
            or len(digest) != 64
            or not all(c in "0123456789abcdef" for c in digest)
        ):
            raise ValueError(f"not a blob reference: {ref!r}")
        data = self._path(digest).read_bytes()
        if hashlib.sha256(data).hexdigest() != digest:
            raise ValueError(f"blob {ref} is corrupt")
        return data


def _touch(path: Path) -> bool:
    """Set an existing blob's modification time to now; False when there is none."""
    try:
        os.utime(path)
    except FileNotFoundError:
        return False
    return True


@dataclass
class GcResult:
    scanned: int = 0
    removed: int = 0
    freed_bytes: int = 0
    kept_referenced: int = 0  # old enough, but something still refers to it


def gc(
    store: BlobStore,
    older_than: float,
    referenced: Callable[[str], bool],
    *,
    dry_run: bool = False,
) -> GcResult:
    """Remove the blobs last stored before `older_than` (a Unix time) that nothing refers
    to (`referenced(ref)` says), and temporary files left by writers that died.

    A blob's modification time is when it was last stored (`put` touches a blob it
    already has), i.e. at most a moment before the newest record that refers to it was
    produced: a blob older than a topic's retention is referred to only by records past
    that retention. Checked again right before removal, so a blob stored meanwhile stays.
    """
    result = GcResult()
    if not store.root.is_dir():
        return result
    for path in sorted(store.root.glob("??/??/*")):
        name = path.name
        try:
            st = path.stat()
        except FileNotFoundError:
            continue
        if st.st_mtime >= older_than:
            continue
        if len(name) == 64 and all(c in "0123456789abcdef" for c in name):
            result.scanned += 1
            if referenced(f"sha256:{name}"):
                result.kept_referenced += 1
                continue
        elif not name.startswith("tmp"):
            continue  # not ours
        if dry_run:
            result.removed += 1
            result.freed_bytes += st.st_size
            continue
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_mtime < older_than:
                path.unlink()
                result.removed += 1
                result.freed_bytes += st.st_size
    return result
