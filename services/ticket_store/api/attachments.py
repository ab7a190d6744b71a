"""Attachments, always as downloads: a browser never renders mail content in our origin.

Who may download which is `access`'s decision: staff of the ticket's (or incoming
email's) department, or the ticket's own client (never from an internal note).
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request, Response

from kernel.blobs import BlobStore
from services.ticket_store import access
from services.ticket_store.api.deps import (
    PrincipalDep,
    StaffDep,
    UowDep,
    current_client,
    current_staff,
    require_principal,
)

router = APIRouter(tags=["attachments"])

# Types served as themselves; anything else (HTML, SVG, scripts …) is application/octet-stream.
SAFE_TYPES = {
    "application/pdf",
    "application/zip",
    "image/gif",
    "image/jpeg",
    "image/png",
    "image/webp",
    "text/csv",
    "text/plain",
}


def safe_content_type(declared: str) -> str:
    base = (declared or "").split(";")[0].strip().lower()
    return base if base in SAFE_TYPES else "application/octet-stream"


def download(request: Request, filename: str, content_type: str, blob_ref: str | None) -> Response:
    if not blob_ref:
        raise HTTPException(404, "the content of this attachment was not kept")
    store = BlobStore(request.app.state.settings.blob_dir)
    try:
        data = store.get(blob_ref)
    except (OSError, ValueError) as exc:
        raise HTTPException(404, "the content of this attachment is not available") from exc
    name = filename.replace("\r", "").replace("\n", "").replace('"', "") or "attachment"
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_")
    return Response(
        content=data,
        media_type=safe_content_type(content_type),
        headers={
            "Content-Disposition": (
                f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
            ),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-store",
        },
    )


@router.get("/attachments/{attachment_id}", summary="Download a ticket attachment")
def ticket_attachment(
    attachment_id: int, request: Request, uow: UowDep, principal: PrincipalDep
) -> Response:
    """Staff of the ticket's department, or the ticket's own client."""
    if require_principal(principal).kind == "client":
        who = current_client(principal, uow)
    else:
        who = current_staff(principal, uow)
    att = access.ticket_attachment(uow.session, who, attachment_id)
    return download(request, att.filename, att.content_type, att.blob_ref)


@router.get(
    "/incoming-emails/{incoming_id}/attachments/{index}",
    summary="Download an attachment of an incoming email",
    tags=["staff: incoming emails"],
)
def incoming_attachment(
    incoming_id: int, index: int, request: Request, uow: UowDep, staff: StaffDep
) -> Response:
    a = access.incoming_attachment(uow.session, staff, incoming_id, index)
    filename, ctype = str(a.get("filename", "attachment")), str(a.get("content_type", ""))
    return download(request, filename, ctype, a.get("blob_ref"))  # type: ignore[arg-type]
