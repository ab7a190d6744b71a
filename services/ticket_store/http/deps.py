"""One transaction per request, for both adapters: a unit of work for the API's endpoints
(its actor is set once the caller is known) and a plain session for the pages' reads."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from services.ticket_store.http.request_id import request_cause
from services.ticket_store.unit_of_work import UnitOfWork


def unit_of_work(request: Request) -> Iterator[UnitOfWork]:
    """Committed when the endpoint returns, rolled back on error."""
    with request.app.state.db.transaction() as session:
        yield UnitOfWork(session, request.app.state.settings.topics, cause=request_cause(request))


UowDep = Annotated[UnitOfWork, Depends(unit_of_work, scope="function")]


def request_session(uow: UowDep) -> Session:
    return uow.session


SessionDep = Annotated[Session, Depends(request_session)]
