"""Quality control for administrators: clients' ratings of staff replies (as
`/api/v1/admin/ratings`). Other staff never see ratings: this page is behind the
admin check, and no staff ticket page shows them."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from services.ticket_store.queries.ratings import ratings_report
from services.ticket_store.web.common import Pages, Who, render_page

pages = Pages("admin")
router = pages.router


@pages.page("/admin/ratings")
def ratings_page(request: Request, session: Session, who: Who) -> Response:
    """Per staff member: how many ratings, their average, and the newest ones with comments."""
    return render_page(
        request, "admin_ratings.html", who, {"report": ratings_report(session, recent=20)}
    )
