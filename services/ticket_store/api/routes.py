"""Route shapes several endpoints share: a 201 "created" answer, and a message posted as
JSON or as a multipart form with files."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from pydantic import AfterValidator

from services.ticket_store.api.schemas import TextIn
from services.ticket_store.domain.text import clean_text
from services.ticket_store.http.deps import UowDep
from services.ticket_store.unit_of_work import UnitOfWork


def created(router: APIRouter, path: str, model: Any, summary: str | None = None) -> Any:
    """POST `path` answering 201 with `model`."""
    return router.post(path, response_model=model, status_code=201, summary=summary)


# (request, uow, the person, ticket number, text, uploaded files) -> the response body
PostMessage = Callable[[Request, UnitOfWork, Any, int, str, list[UploadFile]], Any]


def message_routes(
    router: APIRouter, path: str, who: Callable[..., Any], post: PostMessage, **route: Any
) -> None:
    """A message two ways: a JSON body {"text"} at `path`, and a multipart form (text,
    files) at `path`/with-files; `who` is the dependency giving the person."""

    def with_text(
        number: int, body: TextIn, request: Request, uow: UowDep, person: Any = Depends(who)
    ) -> Any:
        return post(request, uow, person, number, body.text, [])

    def with_files(
        number: int,
        request: Request,
        uow: UowDep,
        text: Annotated[str, Form(min_length=1, max_length=200_000), AfterValidator(clean_text)],
        files: Annotated[list[UploadFile], File()] = [],  # noqa: B006 - FastAPI's form default
        person: Any = Depends(who),
    ) -> Any:
        return post(request, uow, person, number, text, files)

    summary = route.pop("summary")
    router.post(path, status_code=201, summary=summary, name=post.__name__, **route)(with_text)
    router.post(
        f"{path}/with-files",
        status_code=201,
        summary=f"{summary}, with attached files (multipart form: text, files)",
        name=f"{post.__name__}_with_files",
        **route,
    )(with_files)
