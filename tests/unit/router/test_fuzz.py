"""A short, fixed-seed fuzz pass (the long one is `make fuzz`) and every kept crashing input."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from tests.unit.router.fuzz import CRASHES, MAILS, check_one, mutated_seed

KEPT = sorted(CRASHES.glob("*.eml"))


@settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(MAILS)
def test_fixed_seed_pass(data: bytes) -> None:
    check_one(data)


@settings(max_examples=60, derandomize=True, deadline=None, database=None)
@given(mutated_seed())
def test_fixed_seed_mutated_bounces(data: bytes) -> None:
    check_one(data)


@pytest.mark.parametrize("path", KEPT, ids=[p.name for p in KEPT])
def test_kept_crashing_inputs(path: Path) -> None:
    check_one(path.read_bytes())
