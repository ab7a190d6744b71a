"""Quality control for administrators: clients' ratings of staff replies (as
`/api/v1/admin/ratings`). Other staff never see ratings: this page is behind the
admin check, and no staff ticket page shows them."""

from __future__ import annotations

from fastapi.responses import Response

from services.ticket_store.queries.ratings import ratings_report
from services.ticket_store.web.common import Pages, View

pages = Pages("admin")


@pages.page("/admin/ratings")
def ratings_page(view: View) -> Response:
    """Per staff member: how many ratings, their average, and the newest ones with comments."""
    return view.render("admin_ratings.html", report=ratings_report(view.session, recent=20))
