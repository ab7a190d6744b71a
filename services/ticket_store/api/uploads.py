"""Files attached from the web: checked, named safely, and kept in the blob store.

The declared content type is kept as a label only: downloads are served as
attachments with a safe type (see `attachments.safe_content_type`), and the
mailer sends an unknown or malformed type as application/octet-stream.
"""

from __future__ import annotations

import re
import unicodedata

from fastapi import HTTPException, Request, UploadFile

from kernel.blobs import BlobStore
from schemas.events import Attachment

_CTYPE_RE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$")


def safe_filename(name: str | None) -> str:
    """The last path component, without control characters, at most 255 characters."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip(" .")
    if len(name) > 255:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 254 - len(ext)] + dot + ext) if dot and len(ext) <= 16 else name[:255]
    return name or "attachment"


def content_type(declared: str | None) -> str:
    base = (declared or "").split(";")[0].strip().lower()
    return base if _CTYPE_RE.match(base) else "application/octet-stream"


def store_uploads(request: Request, files: list[UploadFile]) -> list[Attachment]:
    """Every file in the blob store, or 413/422 (a file stored before a later one is
    refused stays as an unreferenced blob: content-addressed and harmless)."""
    settings = request.app.state.settings
    files = [f for f in files if f.filename or f.size]
    if len(files) > settings.max_attachments_per_message:
        raise HTTPException(422, f"at most {settings.max_attachments_per_message} files")
    limit = settings.max_attachment_bytes
    store = BlobStore(settings.blob_dir)
    out: list[Attachment] = []
    for f in files:
        name = safe_filename(f.filename)
        data = f.file.read(limit + 1)
        if len(data) > limit:
            raise HTTPException(413, f"{name} is larger than {limit} bytes")
        out.append(
            Attachment(
                filename=name,
                content_type=content_type(f.content_type),
                size=len(data),
                blob_ref=store.put(data),
            )
        )
    return out
