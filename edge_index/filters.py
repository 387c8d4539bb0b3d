"""Metadata filters: a small ``where`` structure turned into parameterised SQL.

``where`` is a dict; every entry must hold (AND). Keys are metadata field names (letters, digits and
``_``; dots reach into nested objects: ``"author.name"``). Values:

- a scalar (str, int, float, bool, None, ``datetime.date``/``datetime``): equality; None matches a
  missing or null field;
- a list / tuple / set of scalars: the field equals one of them;
- a dict of operators: ``$eq``, ``$ne``, ``$in``, ``$nin`` (lists), ``$gt``, ``$gte``, ``$lt``,
  ``$lte`` (ranges; several combine with AND).

Dates and datetimes are compared as ISO 8601 text, so store them in metadata as ISO strings
(``"2024-05-01"``); ranges over such strings order correctly. Example::

    {"lang": "en", "tag": ["mail", "notes"], "year": {"$gte": 2020, "$lt": 2025}}

Field names are checked against a pattern and passed as JSON-path *parameters*, values as
parameters too: no user text is ever spliced into SQL. A malformed filter raises InvalidArgument.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any

from colbert_edge.errors import InvalidArgument

__all__ = ["compile_where"]

_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_RANGE = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
_SCALARS = (str, int, float, bool, type(None), _dt.date)


def _scalar(field: str, value: Any) -> Any:
    if not isinstance(value, _SCALARS):
        raise InvalidArgument(
            f"where[{field!r}]: {value!r} ({type(value).__name__}) is not a str, number, bool, None or date."
        )
    if isinstance(value, _dt.date):  # datetime is a date too
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)  # JSON true/false read back from SQLite as 1/0
    return value


def _values(field: str, op: str, value: Any) -> list[Any]:
    if not isinstance(value, (list, tuple, set, frozenset)) or len(value) == 0:
        raise InvalidArgument(f"where[{field!r}][{op!r}] needs a non-empty list of values, got {value!r}.")
    return [_scalar(field, v) for v in value]


def _condition(column: str, field: str, spec: Any, params: list[Any]) -> str:
    """SQL for one field; ``column`` is the json_extract(...) expression with a ``?`` already in params."""
    if isinstance(spec, dict):
        if not spec:
            raise InvalidArgument(f"where[{field!r}] is an empty operator dict; use e.g. {{'$eq': value}}.")
        parts = []
        for op, value in spec.items():
            sub: list[Any] = []
            parts.append(_condition(column, field, _operator(field, op, value), sub))
            params.extend(sub)
        return "(" + " AND ".join(parts) + ")"
    if isinstance(spec, _Op):
        return spec.sql(column, params)
    if isinstance(spec, (list, tuple, set, frozenset)):
        return _Op("$in", _values(field, "$in", spec)).sql(column, params)
    return _Op("$eq", _scalar(field, spec)).sql(column, params)


class _Op:
    """One operator and its already-validated value(s)."""

    def __init__(self, op: str, value: Any) -> None:
        self.op, self.value = op, value

    def sql(self, column: str, params: list[Any]) -> str:
        op, value = self.op, self.value
        if op in ("$eq", "$ne") and value is None:
            return f"{column} IS {'NOT ' if op == '$ne' else ''}NULL"
        if op == "$eq":
            params.append(value)
            return f"{column} = ?"
        if op == "$ne":
            params.append(value)
            return f"({column} IS NULL OR {column} != ?)"
        if op in ("$in", "$nin"):
            params.extend(value)
            marks = ", ".join("?" * len(value))
            if op == "$in":
                return f"{column} IN ({marks})"
            return f"({column} IS NULL OR {column} NOT IN ({marks}))"
        params.append(value)
        return f"{column} {_RANGE[op]} ?"


def _operator(field: str, op: Any, value: Any) -> _Op:
    if op in ("$in", "$nin"):
        return _Op(op, _values(field, op, value))
    if op in ("$eq", "$ne"):
        return _Op(op, _scalar(field, value))
    if op in _RANGE:
        if value is None:
            raise InvalidArgument(f"where[{field!r}][{op!r}] needs a number, string or date, got None.")
        return _Op(op, _scalar(field, value))
    raise InvalidArgument(
        f"where[{field!r}]: unknown operator {op!r}; use one of $eq $ne $in $nin $gt $gte $lt $lte."
    )


def compile_where(where: dict[str, Any]) -> tuple[str, list[Any]]:
    """Turn a ``where`` dict into ``(sql_condition, params)`` over the ``documents.metadata`` column.

    >>> compile_where({"lang": "en", "year": {"$gte": 2020}})
    ('(json_extract(metadata, ?) = ?) AND ((json_extract(metadata, ?) >= ?))', ['$.lang', 'en', '$.year', 2020])
    """
    if not isinstance(where, dict) or not where:
        raise InvalidArgument(f"where must be a non-empty dict of field -> condition, got {where!r}.")
    clauses: list[str] = []
    params: list[Any] = []
    for field, spec in where.items():
        if not isinstance(field, str) or not _FIELD.match(field):
            raise InvalidArgument(
                f"where: field name {field!r} must be letters, digits and '_' (dots for nested fields)."
            )
        sub: list[Any] = ["$." + field]
        column = "json_extract(metadata, ?)"
        condition = _condition(column, field, spec, sub)
        # json_extract(...) appears once per '?' slot that names the path; repeat the path for each.
        clauses.append("(" + condition + ")")
        params.extend(_expand_paths(condition, sub))
    return " AND ".join(clauses), params


def _expand_paths(condition: str, params: list[Any]) -> list[Any]:
    """Re-emit params so each ``json_extract(metadata, ?)`` occurrence gets the path, in SQL order."""
    path, values = params[0], params[1:]
    out: list[Any] = []
    it = iter(values)
    for token in re.split(r"(json_extract\(metadata, \?\)|\?)", condition):
        if token == "json_extract(metadata, ?)":
            out.append(path)
        elif token == "?":
            out.append(next(it))
    return out
