"""Quality control for administrators: clients' ratings of staff replies (as
`/api/v1/admin/ratings`). Other staff never see ratings: this page is behind the
admin check, and no staff ticket page shows them."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.ticket_store.api.deps import SessionDep
from services.ticket_store.queries.ratings import ratings_report
from services.ticket_store.web.admin_common import need_admin
from services.ticket_store.web.common import render_page

router = APIRouter(include_in_schema=False)


@router.get("/admin/ratings")
def ratings_page(request: Request, session: SessionDep) -> Response:
    """Per staff member: how many ratings, their average, and the newest ones with comments."""
    who, _admin = need_admin(request, session)
    return render_page(
        request, "admin_ratings.html", who, {"report": ratings_report(session, recent=20)}
    )
