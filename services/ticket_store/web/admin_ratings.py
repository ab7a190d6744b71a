"""Quality control for administrators: clients' ratings of staff replies (as
`/api/v1/admin/ratings`). Other staff never see ratings: this page is behind the
admin check, and no staff ticket page shows them."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.ticket_store.http.deps import SessionDep
from services.ticket_store.queries.ratings import ratings_report
from services.ticket_store.web.common import need, render_page

router = APIRouter(include_in_schema=False)


@router.get("/admin/ratings")
def ratings_page(request: Request, session: SessionDep) -> Response:
    """Per staff member: how many ratings, their average, and the newest ones with comments."""
    who = need(request, session, "admin")
    return render_page(
        request, "admin_ratings.html", who, {"report": ratings_report(session, recent=20)}
    )
