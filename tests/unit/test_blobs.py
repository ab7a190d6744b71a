"""The blob store: content-addressed, verified on read, fsynced now or in a batch."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kernel.blobs import BlobStore


def test_put_get_round_trip_and_corruption_is_detected(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    ref = store.put(b"attachment")
    assert store.get(ref) == b"attachment" and store.put(b"attachment") == ref
    path = next(p for p in tmp_path.rglob("*") if p.is_file())
    path.write_bytes(b"tampered")
    with pytest.raises(ValueError, match="corrupt"):
        store.get(ref)


def test_sync_in_an_executor_is_handed_back_once_per_new_file(tmp_path: Path, monkeypatch) -> None:
    from concurrent.futures import ThreadPoolExecutor, wait

    synced: list[int] = []
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd))
    with ThreadPoolExecutor(2) as pool:
        store = BlobStore(tmp_path, sync_executor=pool)
        a, b = store.put(b"one"), store.put(b"two")
        store.put(b"one")  # already there: nothing new to sync
        pending = store.take_pending()
        assert len(pending) == 2 and store.take_pending() == []
        wait(pending)
    assert len(synced) == 2 and all(f.exception() is None for f in pending)
    assert store.get(a) == b"one" and store.get(b) == b"two"


def test_immediate_sync_by_default(tmp_path: Path, monkeypatch) -> None:
    synced: list[int] = []
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd))
    store = BlobStore(tmp_path)
    store.put(b"x")
    assert len(synced) == 1 and store.take_pending() == []


def test_put_recreates_a_directory_removed_under_it(tmp_path: Path) -> None:
    import shutil

    store = BlobStore(tmp_path / "blobs")
    store.put(b"first")
    shutil.rmtree(tmp_path / "blobs")
    ref = store.put(b"first")
    assert store.get(ref) == b"first"
