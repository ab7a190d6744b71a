"""The operations pages (administrators only), mounted together: the mail log, dead letters
with reprocessing, gateway health and replay."""

from __future__ import annotations

from fastapi import APIRouter

from services.ticket_store.web import (
    admin_dead_letters,
    admin_gateway_health,
    admin_mail_log,
    admin_replay,
)

router = APIRouter(include_in_schema=False)
for _pages in (admin_mail_log, admin_dead_letters, admin_gateway_health, admin_replay):
    router.include_router(_pages.pages.router)
