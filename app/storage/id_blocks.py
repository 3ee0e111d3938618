"""Ids the database hands out in blocks, so that two towers never give out the same one.

A block is taken by one UPDATE of the kind's row in ``id_blocks``: PostgreSQL locks the
row and SQLite has one writer at a time, so two processes asking at once get two
different blocks. Ids of a block a process did not use are never used (gaps, no clash).
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from app.storage.orm import IdBlockRow

EXCEPTIONS = "exceptions"


def reserve_ids(session: Session, name: str, count: int) -> range:
    """Take the next ``count`` ids of ``name`` (inside the caller's transaction)."""
    statement = (
        update(IdBlockRow)
        .where(IdBlockRow.name == name)
        .values(next_id=IdBlockRow.next_id + count)
        .returning(IdBlockRow.next_id)
    )
    end = session.scalar(statement)
    if end is None:
        raise LookupError(f"no id block named {name!r} (the schema is older than 0008)")
    return range(end - count, end)
