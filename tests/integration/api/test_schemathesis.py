"""The API against its own OpenAPI document (issue 10, item 5): schemathesis generates
requests for every operation, as an administrator and as a staff member, valid and
invalid ones; none may end in a 5xx, an undocumented status, or a body, header or content
type that the document does not describe, and every invalid request must be refused.
Bounded: a fixed number of examples per operation and role, derandomised, so `make test`
takes well under a minute per database.

Logging out is left out (it would end the token the run uses); a token that an
operation ended (a changed password, a deactivated account) is issued again."""

from __future__ import annotations

import time
from collections import Counter

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.config import SchemathesisConfig

from services.ticket_store import auth
from services.ticket_store.models import Staff
from tests.integration.api.conftest import World

EXAMPLES = 6
CHECKS = [
    negative_data_rejection,
    response_headers_conformance,
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
LEFT_OUT = {"POST /api/v1/auth/logout"}
# An invalid request must be refused; a body over its size limit is refused with 413.
REFUSED = ["400", "401", "403", "404", "405", "409", "413", "415", "422", "428", "429", "5xx"]
CONFIG = {"checks": {"negative_data_rejection": {"expected-statuses": REFUSED}}}


def _token(world: World, who: str) -> str:
    """A live bearer token for `who`, issued again if an operation ended the last one
    (and the account active again if one was deactivated)."""
    with world.db.transaction() as s:
        if (
            auth.resolve(s, world.tokens[who], "bearer") is None
            or not s.get(Staff, world.ids[who]).active
        ):
            staff = s.get(Staff, world.ids[who])
            staff.active = True
            world.tokens[who], _ = auth.issue(s, staff=staff, kind="bearer")
    return world.tokens[who]


def _explore(world: World, op, who: str, mode, totals: Counter, failures: list[str]) -> None:
    """EXAMPLES requests of `op` as `who`; what breaks the document goes to `failures`."""
    name = f"{who} {mode.value} {op.method.upper()} {op.path}"

    @given(case=op.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case) -> None:
        headers = {"Authorization": f"Bearer {_token(world, who)}"}
        response = case.call(headers=headers)
        totals["cases"] += 1
        totals[f"{response.status_code // 100}xx"] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (Exception, BaseExceptionGroup) as exc:  # every failure, not only the first
            failures.append(f"{name}: {exc}"[:1500])

    try:
        run()
    except Unsatisfiable:  # nothing to make invalid (no parameters, no body)
        assert mode is GenerationMode.NEGATIVE, name
    except (Exception, BaseExceptionGroup) as exc:  # the strategy could not be built
        failures.append(f"{name}: {exc!r}"[:500])


def test_the_api_keeps_to_its_openapi_document(world: World) -> None:
    schema = schemathesis.openapi.from_asgi(
        "/openapi.json", world.app.app, config=SchemathesisConfig.from_dict(CONFIG)
    )
    operations = [r.ok() for r in schema.get_all_operations()]
    operations = [op for op in operations if f"{op.method.upper()} {op.path}" not in LEFT_OUT]
    assert len(operations) > 40
    totals: Counter[str] = Counter()
    failures: list[str] = []
    started = time.monotonic()
    for who in ("gary", "ann"):  # staff first: an administrator's run may change them
        for op in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                _explore(world, op, who, mode, totals, failures)
    took = time.monotonic() - started
    print(f"\nschemathesis: {len(operations)} operations, {dict(totals)}, {took:.0f} s")
    assert totals["cases"] > 400 and totals["5xx"] == 0
    assert not failures, "\n\n".join(failures[:20]) + f"\n\n({len(failures)} failures)"
