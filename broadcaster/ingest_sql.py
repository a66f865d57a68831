"""Ingest's bulk statements on either database: a batch's rows and keys as PostgreSQL arrays.

A batch of 2,000 events written as one multi-row INSERT (SQLAlchemy's "insertmanyvalues") or
looked up with ``(a, b) IN ((…), (…), …)`` is a statement with tens of thousands of
placeholders, and psycopg rewrites such a statement's text in Python on every execution (it is
too long for its cache): that rewriting was the largest single cost of storing events. On
PostgreSQL the rows and keys therefore travel as one array per column (``unnest``), which keeps
the statements short and their placeholders few whatever the batch; SQLite (one commune, one
worker) keeps the portable forms, in chunks under its bound-parameter limit.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Table,
    and_,
    bindparam,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.elements import KeyedColumnElement

CHUNK = 500  # rows per IN (...) list on SQLite: well under its 32,766 bound parameters
T = TypeVar("T")


def is_postgresql(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def chunks(conn: Connection, items: Sequence[T]) -> Iterator[list[T]]:
    """``items`` in pieces a statement can take: all at once on PostgreSQL (arrays)."""
    size = max(len(items), 1) if is_postgresql(conn) else CHUNK
    for i in range(0, len(items), size):
        yield list(items[i : i + size])


def upsert(conn: Connection, table: Table) -> Any:
    """The dialect's INSERT, which has ``on_conflict_do_nothing`` (PostgreSQL, SQLite)."""
    if is_postgresql(conn):
        return postgresql.insert(table)
    return sqlite.insert(table)


Column = KeyedColumnElement[Any] | QueryableAttribute[Any]


def keys_in(
    conn: Connection, columns: Sequence[Column], keys: Sequence[Any]
) -> ColumnElement[bool]:
    """``columns`` (one or several) IN ``keys`` (values, or tuples of values)."""
    if not is_postgresql(conn):
        if len(columns) == 1:
            return columns[0].in_(list(keys))
        return tuple_(*columns).in_(list(keys))
    rows = [k if len(columns) > 1 else (k,) for k in keys]
    arrays = [array(conn, [r[i] for r in rows], c.type) for i, c in enumerate(columns)]
    names = [f"k{i}" for i in range(len(columns))]
    found = postgresql_unnest(arrays, names)
    if len(columns) == 1:
        return columns[0].in_(select(found.c.k0))
    return tuple_(*columns).in_(select(*found.c))


def array(conn: Connection, values: list[Any], item_type: Any) -> Any:
    """``values`` as one PostgreSQL array parameter of ``item_type``. psycopg sends this
    connection's lists as binary arrays: its text form quotes and escapes every element in
    Python, and the server parses each back (bench/RESULTS.md, "storecost")."""
    from psycopg.adapt import PyFormat  # PostgreSQL's driver, only here
    from psycopg.types.array import ListBinaryDumper

    raw = conn.connection.dbapi_connection
    adapters = getattr(raw, "adapters", None)
    if adapters is not None and adapters.get_dumper(list, PyFormat.AUTO) is not ListBinaryDumper:
        adapters.register_dumper(list, ListBinaryDumper)
    return bindparam(None, values, type_=postgresql.ARRAY(item_type))


def postgresql_unnest(arrays: list[Any], names: list[str]) -> Any:
    """``unnest(a, b, …) AS anon(names…)``: arrays side by side as rows."""
    from sqlalchemy import func

    return func.unnest(*arrays).table_valued(*names).render_derived()


def seqs_after(
    conn: Connection, columns: Sequence[Column], floors: Sequence[tuple[str, str, int]]
) -> Select[Any]:
    """(site, outbox, seq) of the rows whose seq is above their outbox's floor, for ``floors``
    (site, outbox, floor): each outbox is read from its own cursor on, however far behind
    another outbox of the batch is (a new one starts at 0). On SQLite, one floor per call:
    the lowest (call it on chunks)."""
    site, outbox, seq = columns
    if not is_postgresql(conn):
        return select(site, outbox, seq).where(
            tuple_(site, outbox).in_([(s, o) for s, o, _ in floors]),
            seq > min(f for _, _, f in floors),
        )
    arrays = [array(conn, [row[i] for row in floors], c.type) for i, c in enumerate(columns)]
    keys = postgresql_unnest(arrays, ["s", "o", "f"])
    return select(site, outbox, seq).join(
        keys, and_(site == keys.c.s, outbox == keys.c.o, seq > keys.c.f)
    )


def insert_new(
    conn: Connection,
    table: Table,
    rows: list[dict[str, Any]],
    conflict: list[str] | None,
    returning: Sequence[KeyedColumnElement[Any]],
) -> list[Row[Any]]:
    """Insert ``rows`` (dicts with the same keys), skipping those that clash with a stored
    row (on ``conflict``'s columns; None: any unique constraint); the ``returning`` columns of
    those inserted. A row another transaction is inserting waits for it, then is skipped."""
    if not rows:
        return []
    if not is_postgresql(conn):
        stmt = upsert(conn, table).on_conflict_do_nothing(index_elements=conflict)
        return list(conn.execute(stmt.returning(*returning), rows))
    names = list(rows[0])
    arrays = [array(conn, [r[n] for r in rows], table.c[n].type) for n in names]
    source = postgresql_unnest(arrays, names)
    stmt = (
        postgresql.insert(table)
        .from_select(names, select(*source.c))
        .on_conflict_do_nothing(index_elements=conflict)
        .returning(*returning)
    )
    return list(conn.execute(stmt))


def update_rows(
    conn: Connection, table: Table, keys: Sequence[str], rows: list[dict[str, Any]]
) -> None:
    """Write ``rows`` (dicts of column values with the same keys) onto the rows whose ``keys``
    columns match theirs (a key matches one row). On PostgreSQL one ``UPDATE … FROM unnest``
    whatever their number: an executemany is a statement per row, each with its own round in
    the server and its own run of the table's statement triggers; elsewhere an executemany."""
    if not rows:
        return
    names = list(rows[0])
    values = [n for n in names if n not in keys]
    if not is_postgresql(conn):
        stmt = (
            update(table)
            .where(and_(*(table.c[k] == bindparam(f"k_{k}") for k in keys)))
            .values({n: bindparam(n) for n in values})
        )
        conn.execute(stmt, [{**r, **{f"k_{k}": r[k] for k in keys}} for r in rows])
        return
    arrays = [array(conn, [r[n] for r in rows], table.c[n].type) for n in names]
    source = postgresql_unnest(arrays, [f"v_{n}" for n in names])
    conn.execute(
        update(table)
        .where(and_(*(table.c[k] == source.c[f"v_{k}"] for k in keys)))
        .values({n: source.c[f"v_{n}"] for n in values})
    )
