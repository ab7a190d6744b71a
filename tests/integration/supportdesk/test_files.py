"""Files the system writes: all under one var directory, and private to their user."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from kernel.blobs import BlobStore
from kernel.config import Settings
from kernel.crypto import encrypt

REPO = Path(__file__).resolve().parents[3]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _cli(cwd: Path, var: Path, *argv: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTDESK_")}
    env |= {"SUPPORTDESK_VAR_DIR": str(var), "PYTHONPATH": str(REPO)}
    subprocess.run(
        [sys.executable, "-m", "supportdesk.cli", *argv], cwd=cwd, env=env, check=True, timeout=120
    )


def test_one_setting_moves_every_file_and_they_are_private(tmp_path: Path) -> None:
    cwd, var = tmp_path / "cwd", tmp_path / "elsewhere"
    cwd.mkdir()
    _cli(cwd, var, "db", "upgrade")
    _cli(cwd, var, "demo", "load")
    assert list(cwd.iterdir()) == []  # nothing lands in the working directory
    database = var / "supportdesk.db"
    assert _mode(database) == 0o600
    assert _mode(var / "demo-mailbox") == 0o700
    written = [p for p in var.rglob("*")]
    assert written, "the demo wrote its mailboxes"
    for path in written:
        assert _mode(path) & 0o077 == 0, f"{path} is readable by others ({oct(_mode(path))})"


def test_settings_derive_their_files_from_the_var_directory(tmp_path: Path) -> None:
    s = Settings(var_dir=tmp_path)
    assert s.database_url == f"sqlite:///{tmp_path}/supportdesk.db"
    assert (s.blob_dir, s.secret_key_file, s.mailer_ledger) == (
        tmp_path / "blobs",
        tmp_path / "secret.key",
        tmp_path / "mailer-sent.sqlite",
    )
    named = Settings(var_dir=tmp_path, blob_dir=tmp_path / "b", database_url="sqlite:////x.db")
    assert (named.blob_dir, named.database_url) == (tmp_path / "b", "sqlite:////x.db")


def test_the_secret_key_and_blobs_are_private_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        settings = Settings(var_dir=tmp_path / "var")
        assert encrypt(settings, "gateway password")
        ref = BlobStore(settings.blob_dir).put(b"raw mail")
    finally:
        os.umask(old)
    assert _mode(settings.secret_key_file) == 0o600
    blob = settings.blob_dir / ref.removeprefix("sha256:")[:2]
    assert _mode(blob) == 0o700
    assert all(_mode(p) & 0o077 == 0 for p in settings.blob_dir.rglob("*"))
