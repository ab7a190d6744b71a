"""The blob store: content-addressed, verified on read, fsynced now or in a batch."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from supportdesk.blobs import BlobStore


def test_put_get_round_trip_and_corruption_is_detected(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    ref = store.put(b"attachment")
    assert store.get(ref) == b"attachment" and store.put(b"attachment") == ref
    path = next(p for p in tmp_path.rglob("*") if p.is_file())
    path.write_bytes(b"tampered")
    with pytest.raises(ValueError, match="corrupt"):
        store.get(ref)


def test_deferred_sync_hands_each_new_file_over_once(tmp_path: Path, monkeypatch) -> None:
    synced: list[int] = []
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd))
    store = BlobStore(tmp_path, defer_sync=True)
    a, b = store.put(b"one"), store.put(b"two")
    store.put(b"one")  # already there: nothing new to sync
    assert synced == []  # put does not wait for the disk
    pending = store.take_pending()
    assert sorted(p.name for p in pending) == sorted([a[7:], b[7:]])
    assert store.take_pending() == []
    for p in pending:
        BlobStore.sync_file(p)
    assert len(synced) == 2


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
