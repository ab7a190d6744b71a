"""Encryption of gateway passwords at rest and on topics (Fernet).

The key comes from SUPPORTDESK_SECRET_KEY; on a single machine without one, a
key file (0600) is created in the var directory so `make run` needs no set-up.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from kernel.blobs import private_dirs
from kernel.config import Settings

__all__ = ["InvalidToken", "decrypt", "encrypt", "fernet"]


def _key(settings: Settings) -> bytes:
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode()
    path = Path(settings.secret_key_file)
    if not path.exists():
        private_dirs(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(Fernet.generate_key())
    return path.read_bytes().strip()


def fernet(settings: Settings) -> Fernet:
    return Fernet(_key(settings))


def encrypt(settings: Settings, secret: str) -> str:
    return fernet(settings).encrypt(secret.encode()).decode() if secret else ""


def decrypt(settings: Settings, token: str) -> str:
    return fernet(settings).decrypt(token.encode()).decode() if token else ""
