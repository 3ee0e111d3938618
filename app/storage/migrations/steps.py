"""The steps the migrations take, each written once: a table is created with its primary
key, foreign keys and indexes, and a downgrade drops what its upgrade created, in reverse.

A revision made only of such steps declares them (``upgrade, downgrade = reversible(...)``):
its upgrade takes them in order, its downgrade undoes each, the last first. Alembic calls
the module's ``upgrade`` and ``downgrade`` attributes, however they were made.

Names follow the ORM's naming convention (pk_<table>, fk_<table>_<column>_<referred table>,
ix_<table>_<column>), marked as final with ``op.f`` as Alembic's autogenerate writes them.
Once a migration has run somewhere it is history: change these steps only in ways that
leave the DDL every migration runs the same.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from alembic import op
from alembic.operations import BatchOperations


@dataclass(frozen=True)
class Index:
    """An index over ``columns``; without a ``name``, ix_<table>_<first column>."""

    columns: tuple[str, ...]
    name: str | None = None
    unique: bool = False

    def name_in(self, batch_op: BatchOperations, table: str) -> str:
        """The index's name on ``table``."""
        if self.name is not None:
            return self.name
        return batch_op.f(f"ix_{table}_{self.columns[0]}")


def index(*columns: str, name: str | None = None, unique: bool = False) -> Index:
    """An ``Index`` over ``columns`` (shorter to write than the tuple)."""
    return Index(columns, name, unique)


@dataclass(frozen=True)
class NewTable:
    """A table a migration creates: its columns, primary key, references and indexes.

    ``references`` maps a column to the ``table.column`` it refers to; ``unique`` names
    single columns with a unique constraint.
    """

    name: str
    columns: Sequence[sa.Column[Any]]
    primary_key: tuple[str, ...] = ("id",)
    references: Mapping[str, str] = field(default_factory=dict)
    unique: tuple[str, ...] = ()
    indexes: tuple[Index, ...] = ()


def create_tables(tables: Sequence[NewTable]) -> None:
    """Create ``tables`` in order, each followed by its indexes."""
    for table in tables:
        name = table.name
        foreign_keys = [
            sa.ForeignKeyConstraint(
                [column],
                [target],
                name=op.f(f"fk_{name}_{column}_{target.split('.')[0]}"),
            )
            for column, target in table.references.items()
        ]
        uniques = [sa.UniqueConstraint(c, name=op.f(f"uq_{name}_{c}")) for c in table.unique]
        primary_key = sa.PrimaryKeyConstraint(*table.primary_key, name=op.f(f"pk_{name}"))
        op.create_table(name, *table.columns, *foreign_keys, primary_key, *uniques)
        create_indexes(name, table.indexes)


def drop_tables(tables: Sequence[NewTable]) -> None:
    """Undo ``create_tables``: the last table first, each after its indexes."""
    for table in reversed(tables):
        drop_indexes(table.name, table.indexes)
        op.drop_table(table.name)


def create_indexes(table: str, indexes: Sequence[Index]) -> None:
    """Add ``indexes`` to ``table`` (in batch mode, so SQLite can too)."""
    if not indexes:
        return
    with op.batch_alter_table(table, schema=None) as batch_op:
        for ix in indexes:
            batch_op.create_index(ix.name_in(batch_op, table), list(ix.columns), unique=ix.unique)


def drop_indexes(table: str, indexes: Sequence[Index]) -> None:
    """Undo ``create_indexes``: the last index first."""
    if not indexes:
        return
    with op.batch_alter_table(table, schema=None) as batch_op:
        for ix in reversed(indexes):
            batch_op.drop_index(ix.name_in(batch_op, table))


def add_column(table: str, column: sa.Column[Any]) -> None:
    """Add ``column`` to ``table`` (in batch mode, so SQLite can too)."""
    with op.batch_alter_table(table) as batch_op:
        batch_op.add_column(column)


def drop_column(table: str, column: str) -> None:
    """Undo ``add_column``."""
    with op.batch_alter_table(table) as batch_op:
        batch_op.drop_column(column)


def change_type(
    table: str, column: str, old: sa.types.TypeEngine[Any], new: sa.types.TypeEngine[Any]
) -> None:
    """Change a nullable ``column`` of ``table`` from type ``old`` to ``new`` (in batch mode,
    so SQLite can too); its downgrade changes it back, ``new`` to ``old``."""
    with op.batch_alter_table(table) as batch_op:
        batch_op.alter_column(column, existing_type=old, type_=new, existing_nullable=True)


def on_postgresql() -> bool:
    """Whether the migration runs on PostgreSQL: roles, grants and triggers are its alone."""
    return bool(op.get_bind().dialect.name == "postgresql")


def current_schema() -> str:
    """The schema the tower's tables are in (the search path's first), quoted."""
    bind = op.get_bind()
    name = str(bind.execute(sa.text("SELECT current_schema()")).scalar())
    return str(bind.dialect.identifier_preparer.quote(name))


@dataclass(frozen=True)
class Step:
    """One thing a revision does (``up``) and how its downgrade undoes it (``down``)."""

    up: Callable[[], None]
    down: Callable[[], None]


def reversible(*steps: Step) -> tuple[Callable[[], None], Callable[[], None]]:
    """A revision's ``upgrade`` (``steps`` in order) and ``downgrade`` (each step undone,
    the last first)."""

    def upgrade() -> None:
        """Apply this revision."""
        for step in steps:
            step.up()

    def downgrade() -> None:
        """Revert this revision."""
        for step in reversed(steps):
            step.down()

    return upgrade, downgrade


def tables_created(tables: Callable[[], Sequence[NewTable]]) -> Step:
    """Create the ``tables()``, drop them again (``tables`` makes new columns at each call:
    a column belongs to one table)."""
    return Step(lambda: create_tables(tables()), lambda: drop_tables(tables()))


def indexes_created(table: str, indexes: Sequence[Index]) -> Step:
    """Add ``indexes`` to an existing ``table``, drop them again."""
    return Step(lambda: create_indexes(table, indexes), lambda: drop_indexes(table, indexes))


def column_added(table: str, name: str, type_: sa.types.TypeEngine[Any], **options: Any) -> Step:
    """Add the column ``name`` of ``type_`` (``options`` as ``sa.Column`` takes them) to
    ``table``, drop it again; a new column at each upgrade (a column belongs to one table)."""
    return Step(
        lambda: add_column(table, sa.Column(name, type_, **options)),
        lambda: drop_column(table, name),
    )


def type_changed(
    table: str, column: str, old: sa.types.TypeEngine[Any], new: sa.types.TypeEngine[Any]
) -> Step:
    """Change a nullable ``column`` of ``table`` from ``old`` to ``new``, back again."""
    return Step(
        lambda: change_type(table, column, old, new), lambda: change_type(table, column, new, old)
    )


def executed(statement: str) -> Step:
    """Run ``statement``, a change of the rows alone: the downgrade leaves them as they are
    (the tables it wrote go, or keep what it wrote)."""
    return Step(lambda: op.execute(statement), lambda: None)
