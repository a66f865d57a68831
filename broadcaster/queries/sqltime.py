"""Portable SQL time arithmetic (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.functions import FunctionElement


class seconds_between(FunctionElement[float]):  # noqa: N801 - reads like a SQL function
    """``end - start`` in seconds, for two timestamp columns."""

    type = Float()
    inherit_cache = True
    name = "seconds_between"

    def __init__(
        self,
        start: ColumnElement[Any] | QueryableAttribute[Any],
        end: ColumnElement[Any] | QueryableAttribute[Any],
    ) -> None:
        super().__init__(start, end)


@compiles(seconds_between, "sqlite")
def _sqlite(element: seconds_between, compiler: Any, **kw: Any) -> str:
    start, end = list(element.clauses)
    # julianday is a float of days: round to the millisecond to drop its representation error
    return (
        f"round((julianday({compiler.process(end, **kw)}) - "
        f"julianday({compiler.process(start, **kw)})) * 86400.0, 3)"
    )


@compiles(seconds_between)
def _default(element: seconds_between, compiler: Any, **kw: Any) -> str:
    start, end = list(element.clauses)
    return f"EXTRACT(EPOCH FROM ({compiler.process(end, **kw)} - {compiler.process(start, **kw)}))"
