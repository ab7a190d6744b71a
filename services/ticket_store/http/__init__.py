"""The store's HTTP side: one FastAPI app serving the JSON API (`api/`) and the web pages
(`web/`), two sibling adapters over the same application core.

Owns what both adapters share and neither may own alone: the app factory
(`create_app`), the session cookie and CSRF comparison (`sessions`), the login
check and its rate limit (`login`), and which adapter answers a refusal. May
import the core (actions, queries, presenters, access, domain), `auth`, `db`,
the kernel, and `api` and `web`; `api` and `web` import this package's
`sessions` and `login` but never each other, and the core never imports it.
"""

from __future__ import annotations

from services.ticket_store.http.app import create_app

__all__ = ["create_app"]
