"""The audit trail as readers see it: chain entries and the reads not yet folded, in one statement.

Reads of personal data wait in ``audit_read_log`` until the worker folds them into their
chains (ADR 0073). Everything that shows the trail (search, data-use, a case's history, the
funding meters, exports) reads both tables in **one** statement (``UNION ALL``): a statement
sees one snapshot, and a fold deletes a row and appends its entry in one transaction, so every
read appears exactly once, before or after its fold. Two statements could miss it (folded in
between) or show it twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, Subquery, cast, literal, null, select, union_all

from civicloom.audit.tables import AuditEntryRow, AuditReadRow

Audited = type[AuditEntryRow] | type[AuditReadRow]
Where = Callable[[Audited], Sequence[ColumnElement[bool]]]
"""The conditions of a reader's query, written once for either table (the columns it may
use: ``occurred_at``, ``actor``, ``actor_subject``, ``action``, ``subject_type``,
``subject_id``, ``department``)."""

_RECORD = (
    "occurred_at",
    "actor",
    "actor_subject",
    "action",
    "subject_type",
    "subject_id",
    "department",
    "purpose",
    "fields",
    "details",
)


def _branch(table: Audited, where: Where, newest: int | None) -> Select[Any]:
    if table is AuditEntryRow:
        order = AuditEntryRow.seq
        chained: list[Any] = [
            literal(0).label("pending"),
            AuditEntryRow.seq.label("ord"),
            AuditEntryRow.chain,
            AuditEntryRow.position,
            AuditEntryRow.prev_hash,
            AuditEntryRow.hash,
        ]
    else:
        order = AuditReadRow.id
        chained = [
            literal(1).label("pending"),
            AuditReadRow.id.label("ord"),
            # typed: a bare NULL in a subquery is text to PostgreSQL, and UNION refuses it
            *(
                cast(null(), column.type).label(column.key)
                for column in (
                    AuditEntryRow.chain,
                    AuditEntryRow.position,
                    AuditEntryRow.prev_hash,
                    AuditEntryRow.hash,
                )
            ),
        ]
    query = select(*chained, *(getattr(table, name) for name in _RECORD)).where(*where(table))
    if newest is None:
        return query
    # each side limited on its own index order, then merged (a subquery: SQLite allows no
    # ORDER BY/LIMIT on a branch of a compound select)
    inner = query.order_by(table.occurred_at.desc(), order.desc()).limit(newest).subquery()
    return select(*inner.c)


def trail(where: Where, *, newest: int | None = None, pending: bool = True) -> Subquery:
    """Entries and reads not yet folded that match ``where``, as one subquery with the columns
    ``pending`` (0 an entry, 1 a read not yet folded), ``ord`` (the entry's ``seq`` or the
    read's id), ``chain``, ``position``, ``prev_hash``, ``hash`` (NULL for a read not yet
    folded) and the record's own columns. ``newest``: only each table's newest that many.
    ``pending=False``: the chains alone (a filter no logged read can match)."""
    tables: tuple[Audited, ...] = (AuditEntryRow, AuditReadRow) if pending else (AuditEntryRow,)
    branches = [_branch(table, where, newest) for table in tables]
    return (union_all(*branches) if len(branches) > 1 else branches[0]).subquery("trail")


def newest_first(sub: Subquery) -> tuple[Any, ...]:
    """Newest first; at the same moment a read not yet folded first, then the later recorded."""
    return (sub.c.occurred_at.desc(), sub.c.pending.desc(), sub.c.ord.desc())
