"""Attachments, always as downloads: a browser never renders mail content in our origin."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request, Response

from kernel.blobs import BlobStore
from services.ticket_store.api.deps import PrincipalDep, SessionDep, StaffDep, require_principal
from services.ticket_store.models import IncomingEmail, MessageAttachment, Ticket
from services.ticket_store.queries.staff import can_handle

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
    attachment_id: int, request: Request, session: SessionDep, principal: PrincipalDep
) -> Response:
    """Staff of the ticket's department, or the ticket's own client."""
    who = require_principal(principal)
    att = session.get(MessageAttachment, attachment_id)
    ticket = session.get(Ticket, att.message.ticket_number) if att else None
    if att is None or ticket is None:
        raise HTTPException(404, f"attachment {attachment_id} does not exist")
    if who.kind == "client":
        if ticket.client_id != who.id or att.message.direction == "note":
            raise HTTPException(404, f"attachment {attachment_id} does not exist")
    else:
        from services.ticket_store.api.deps import current_staff

        staff = current_staff(principal, session)
        if not can_handle(staff, ticket.department_id):
            raise HTTPException(403, "this attachment is in a department you do not work in")
    return download(request, att.filename, att.content_type, att.blob_ref)


@router.get(
    "/incoming-emails/{incoming_id}/attachments/{index}",
    summary="Download an attachment of an incoming email",
    tags=["staff: incoming emails"],
)
def incoming_attachment(
    incoming_id: int, index: int, request: Request, session: SessionDep, staff: StaffDep
) -> Response:
    row = session.get(IncomingEmail, incoming_id)
    if row is None:
        raise HTTPException(404, f"incoming email {incoming_id} does not exist")
    if not can_handle(staff, row.department_id):
        raise HTTPException(403, "this email came in for a department you do not work in")
    items = row.attachments or []
    if not 0 <= index < len(items):
        raise HTTPException(404, "no such attachment")
    a = items[index]
    return download(
        request, a.get("filename", "attachment"), a.get("content_type", ""), a.get("blob_ref")
    )
