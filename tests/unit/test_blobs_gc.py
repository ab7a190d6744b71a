"""The blob collector: raw mail's blobs go once older than mail.raw's retention; what an
attachment refers to, what was stored again lately, and files not ours stay."""

from __future__ import annotations

import os
import time
from pathlib import Path

from kernel.blobs import BlobStore, gc

DAY = 24 * 3600.0


def _age(store: BlobStore, ref: str, days: float) -> Path:
    path = store._path(ref.partition(":")[2])  # noqa: SLF001
    at = time.time() - days * DAY
    os.utime(path, (at, at))
    return path


def test_old_unreferenced_blobs_go_and_the_rest_stay(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    old_raw = store.put(b"raw mail of 100 days ago")
    attachment = store.put(b"an attachment of a ticket")
    recent = store.put(b"raw mail of yesterday")
    again = store.put(b"old, but fetched again today")
    for ref, days in ((old_raw, 100), (attachment, 100), (recent, 1), (again, 100)):
        _age(store, ref, days)
    assert store.put(b"old, but fetched again today") == again  # stored again: touched
    stale_tmp = tmp_path / old_raw[7:9] / old_raw[9:11] / "tmpabc123"
    stale_tmp.write_bytes(b"a writer died here")
    os.utime(stale_tmp, (time.time() - 100 * DAY,) * 2)
    foreign = tmp_path / "ab" / "cd" / "README"
    foreign.parent.mkdir(parents=True)
    foreign.write_text("not a blob")
    os.utime(foreign, (time.time() - 100 * DAY,) * 2)

    cutoff = time.time() - 91 * DAY
    dry = gc(store, cutoff, {attachment}.__contains__, dry_run=True)
    assert (dry.removed, dry.kept_referenced) == (2, 1) and store.get(old_raw)
    result = gc(store, cutoff, {attachment}.__contains__)
    assert (result.scanned, result.removed, result.kept_referenced) == (2, 2, 1)
    assert result.freed_bytes == len(b"raw mail of 100 days ago") + len(b"a writer died here")
    assert not stale_tmp.exists() and foreign.exists()
    for ref in (attachment, recent, again):
        assert store.get(ref)
    try:
        store.get(old_raw)
    except FileNotFoundError:
        pass
    else:
        raise AssertionError("the old raw blob is still there")


def test_an_empty_or_missing_store_is_nothing_to_do(tmp_path: Path) -> None:
    assert gc(BlobStore(tmp_path / "none"), time.time(), lambda ref: False).scanned == 0
