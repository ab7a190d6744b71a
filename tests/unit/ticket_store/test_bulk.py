"""PostgreSQL's array literal as `bulk.among` writes it (the server reads it back in
tests/integration/store/test_bulk.py)."""

from __future__ import annotations

from services.ticket_store.bulk import pg_array


def test_strings_are_quoted_and_escaped() -> None:
    assert pg_array(["a", 'say "hi"', "back\\slash", "x,y", "{z}", "NULL", ""]) == (
        '{"a","say \\"hi\\"","back\\\\slash","x,y","{z}","NULL",""}'
    )


def test_integers_and_none_are_bare() -> None:
    assert pg_array([1, 22, None]) == "{1,22,NULL}"
    assert pg_array([True]) == '{"True"}'  # a bool is no integer key: quoted as text
    assert pg_array([]) == "{}"
