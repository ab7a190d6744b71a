"""Many rows in, many keys looked up: the consumers' batches, at the driver's own cost.

SQLAlchemy's executemany prepares every row in Python (defaults, bind processors,
parameter dictionaries) and psycopg then sends it row by row; both cost more per
mail than the database does. `insert_rows` fills the defaults and runs the bind
processors once per column, then hands PostgreSQL one COPY and other databases
one driver-level executemany. `among` is `column IN (values)` whose statement text
does not grow with the values on PostgreSQL (one array parameter), so neither
SQLAlchemy nor psycopg renders and parses hundreds of placeholders per query.

Errors come out as SQLAlchemy's (IntegrityError, OperationalError…), the way the
consumer tells a bad record from a database that is away.
May import: SQLAlchemy, the store's models (callers pass their tables).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    String,
    Table,
    Text,
    any_,
    bindparam,
    cast,
    func,
    insert,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType


def among(session: Session, column: Any, values: Collection[Any]) -> ColumnElement[bool]:
    """`column IN values` with the values in one parameter, so the statement text stays
    the same whatever their number: on PostgreSQL `column = ANY(CAST(:text AS type[]))`
    in its array syntax (psycopg dumps a list element by element in Python, about four
    times the cost of writing the literal); on SQLite `column IN (SELECT value FROM
    json_each(:json))` (an expanding IN of 250 ids cost ~0.5 ms, this ~0.3)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        # An untyped parameter cast to text[] (int[]…) is taken as that array: with the
        # values known when the plan is made (db.make_engine), it is a constant PostgreSQL
        # hashes. Cast from a typed one (`:p::VARCHAR`, or to `VARCHAR(64)[]`) it is an
        # expression compared with every key on every row it scans: 0.1-0.3 s a query
        # for 250 keys among 2,000 tickets, all of the server's time in the bench.
        element = Text() if isinstance(column.type, String) else column.type
        literal = bindparam(None, pg_array(values), type_=NullType())
        return column == any_(cast(literal, ARRAY(element)))  # type: ignore[no-any-return]
    if dialect == "sqlite":
        listed = bindparam(None, json.dumps(list(values)), type_=Text)
        inside = select(literal_column("value")).select_from(func.json_each(listed))
        return column.in_(inside)  # type: ignore[no-any-return]
    # One expanding parameter given as such: `in_(values)` coerces every value itself.
    expanding = bindparam(None, list(values), expanding=True, type_=column.type)
    return column.in_(expanding)  # type: ignore[no-any-return]


def pg_array(values: Collection[Any]) -> str:
    """PostgreSQL's text form of a one-dimensional array of strings or integers."""
    return "{" + ",".join(map(_element, values)) + "}"


def _element(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _default(column: Column[Any]) -> tuple[bool, Any]:
    """(has one, value) for a column left out of the rows: its Python-side default, taken
    once for the batch (`utcnow` is the batch's time, as the rows' own `now` is)."""
    default = column.default
    if default is None:
        return False, None
    if default.is_scalar:
        return True, default.arg  # type: ignore[attr-defined]
    if default.is_callable:
        return True, default.arg(None)  # type: ignore[attr-defined,operator]
    return False, None  # a sequence or SQL expression: the database's own


def _prepared(
    dialect: Dialect, table: Table, rows: Sequence[Mapping[str, Any]]
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The column keys written (the rows' own, then those with a Python-side default) and
    each row's values in that order, as the driver takes them."""
    keys = list(rows[0])
    fixed: list[tuple[str, Any]] = []
    for column in table.columns:
        if column.key not in rows[0]:
            has, value = _default(column)
            if has:
                fixed.append((column.key, _bind(dialect, column, value)))
    processors = [table.c[k].type._cached_bind_processor(dialect) for k in keys]
    tail = tuple(v for _, v in fixed)
    out = []
    for row in rows:
        if len(row) != len(keys):
            raise ValueError(f"rows for {table.name} differ in their columns")
        values = [row[k] for k in keys]
        for i, p in enumerate(processors):
            if p is not None:
                values[i] = p(values[i])
        out.append((*values, *tail))
    return keys + [k for k, _ in fixed], out


def _bind(dialect: Dialect, column: Column[Any], value: Any) -> Any:
    processor = column.type._cached_bind_processor(dialect)
    return value if processor is None else processor(value)


def insert_rows(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT `rows` (dicts with the same keys) into `table` in the session's transaction:
    COPY with psycopg 3, one executemany on SQLite, SQLAlchemy's INSERT on anything else."""
    if not rows:
        return
    conn = session.connection()
    dialect = conn.dialect
    copy = dialect.name == "postgresql" and dialect.driver == "psycopg"
    if not copy and dialect.name != "sqlite":  # another driver: SQLAlchemy's own way
        session.execute(insert(table), list(rows))
        return
    keys, values = _prepared(dialect, table, rows)
    if copy:
        _copy(conn, table, keys, values)
        return
    sql, at = _insert_sql(dialect, table, tuple(keys))
    if at != list(range(len(keys))):
        values = [tuple(v[i] for i in at) for v in values]
    conn.exec_driver_sql(sql, values)


_INSERTS: dict[tuple[str, Table, tuple[str, ...]], tuple[str, list[int]]] = {}


def _insert_sql(dialect: Dialect, table: Table, keys: tuple[str, ...]) -> tuple[str, list[int]]:
    """The INSERT's text for a positional driver and where each of its parameters is in
    `keys`; compiled once per table and columns (compiling took as long as the rows)."""
    found = _INSERTS.get((dialect.name, table, keys))
    if found is None:
        stmt = insert(table).compile(dialect=dialect, column_keys=list(keys))
        order = list(stmt.positiontup or ())
        if sorted(order) != sorted(keys):  # a default this module does not know how to take
            raise RuntimeError(f"unexpected INSERT for {table.name}: {stmt}")
        found = _INSERTS[(dialect.name, table, keys)] = (str(stmt), [keys.index(k) for k in order])
    return found


def _copy(conn: Connection, table: Table, keys: list[str], values: list[tuple[Any, ...]]) -> None:
    """One COPY FROM STDIN (psycopg 3), its errors mapped as SQLAlchemy maps a statement's."""
    quote = conn.dialect.identifier_preparer
    names = ", ".join(quote.format_column(table.c[k]) for k in keys)
    sql = f"COPY {quote.format_table(table)} ({names}) FROM STDIN"
    dbapi_conn = conn.connection.dbapi_connection
    cursor = dbapi_conn.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(sql) as copy:
            for row in values:
                copy.write_row(row)
    except conn.dialect.loaded_dbapi.Error as exc:
        lost = conn.dialect.is_disconnect(exc, dbapi_conn, cursor)
        if lost:
            conn.invalidate(exc)
        raise DBAPIError.instance(
            sql, None, exc, conn.dialect.loaded_dbapi.Error,
            connection_invalidated=lost, dialect=conn.dialect,
        ) from exc  # fmt: skip
    finally:
        cursor.close()
