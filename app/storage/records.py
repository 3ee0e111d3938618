"""Between the domain's dataclasses and the tables' rows: the fields that share a name.

Most rows store a domain record field for field (an enum by its value); copying by name
keeps the two in step when a field is added, and leaves only what differs (a renamed
column, a computed value) to be written out at the call.
"""

from __future__ import annotations

import dataclasses
from enum import Enum
from functools import cache
from typing import Any, TypeVar

from app.storage.orm import Base

RowT = TypeVar("RowT", bound=Base)
RecordT = TypeVar("RecordT")


@cache
def _columns(row_type: type[Base]) -> frozenset[str]:
    return frozenset(row_type.__table__.columns.keys())


_FIELDS: dict[type[Any], tuple[str, ...]] = {}


def _fields(record_type: type[Any]) -> tuple[str, ...]:
    """``record_type``'s init fields, read once per type (rows are made by thousands)."""
    found = _FIELDS.get(record_type)
    if found is None:
        found = _FIELDS[record_type] = tuple(
            f.name for f in dataclasses.fields(record_type) if f.init
        )
    return found


def row_values(row_type: type[Base], record: Any, **values: Any) -> dict[str, Any]:
    """The columns of ``row_type`` that ``record`` (a dataclass) has a field for, an enum
    by its value, then ``values`` over them."""
    columns = _columns(row_type)
    copied = {
        name: _stored(getattr(record, name))
        for name in _fields(type(record))
        if name in columns and name not in values
    }
    return {**copied, **values}


def row_from(row_type: type[RowT], record: Any, **values: Any) -> RowT:
    """A new ``row_type`` row holding ``record``'s fields (see ``row_values``)."""
    return row_type(**row_values(row_type, record, **values))


def record_from(record_type: type[RecordT], row: Base, **values: Any) -> RecordT:
    """A ``record_type`` dataclass from ``row``'s columns of its fields' names; ``values``
    give the others (a renamed column, an enum from its stored value)."""
    columns = _columns(type(row))
    copied = {
        name: getattr(row, name)
        for name in _fields(record_type)
        if name in columns and name not in values
    }
    return record_type(**copied, **values)


def _stored(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value
