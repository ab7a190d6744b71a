"""Fixtures for the real parts live in tests/fixtures/, loaded here as plugins."""

from collections.abc import Iterator

import pytest

pytest_plugins = [
    "tests.fixtures.kafka",
    "tests.fixtures.dovecot",
    "tests.fixtures.postgres",
    "tests.fixtures.smtp",
    "tests.fixtures.postfix",
    "tests.fixtures.oauth2",
    "tests.fixtures.pipeline",
    "tests.fixtures.browser",
]


@pytest.fixture(autouse=True, scope="session")
def cheap_argon2() -> Iterator[None]:
    """argon2id at its lowest cost in the test process: the default (64 MiB, 3 passes) takes
    about a second a hash on a loaded 2-core machine, and every API and web test's world
    hashes five passwords. Hashes still start with $argon2id$ and verify as in production
    (the cost is read from the hash); services started as processes keep the default."""
    from argon2 import PasswordHasher

    from services.ticket_store import auth

    production = auth._hasher
    auth._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    auth._dummy_hash.cache_clear()
    yield
    auth._hasher = production
    auth._dummy_hash.cache_clear()


# Besides the modules marked `serial` themselves: runs that kill processes and bound how
# soon the rest recovers, alone on the machine (make test's serial pass).
SERIAL = ("tests/chaos/", "tests/integration/mailer/test_two_mailers.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under xdist (make test) the browser tests stay on one worker, so they share one
    Chromium and one live store as in a plain run."""
    for item in items:
        if item.nodeid.startswith("tests/e2e/browser/"):
            item.add_marker(pytest.mark.xdist_group("browser"))
        if item.nodeid.startswith(SERIAL):
            item.add_marker(pytest.mark.serial)
