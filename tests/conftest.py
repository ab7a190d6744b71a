"""Fixtures for the real parts live in tests/fixtures/, loaded here as plugins."""

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
