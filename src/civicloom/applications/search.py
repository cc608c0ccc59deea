"""Finding applications for staff: by reference or by answers the searcher may read (ADR 0063).

The caller (``civicloom.backoffice``) decides which form fields the searcher's department may
read in which blueprint version; this module only turns that into one statement over its own
tables, keyset-paged newest first. Typed text is matched literally: ``%`` and ``_`` are escaped.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    exists,
    false,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.applications.queries import header_of
from civicloom.applications.tables import ApplicationRow, TaskRow
from civicloom.applications.views import ApplicationHeader

LIKE_ESCAPE = "\\"


@dataclass(frozen=True)
class FieldMatch:
    """One answer searched in the blueprint versions where the searcher may read it: equal to
    the text (identifiers, ignoring case) or containing it (names, ignoring case)."""

    field: str
    versions: frozenset[str]
    exact: bool = False


@dataclass(frozen=True)
class CaseSearchQuery:
    """What to look for, within which department's cases (``None``: every case), which page."""

    text: str
    department: str | None
    fields: tuple[FieldMatch, ...] = ()
    limit: int = 20
    after: tuple[datetime, str] | None = None  # (submitted_at, id) of the previous page's last


@dataclass(frozen=True)
class CaseSearchPage:
    """One page of matching applications, newest first; ``more``: a next page exists."""

    applications: list[ApplicationHeader]
    more: bool


def literal_like(text: str) -> str:
    """``text`` as a LIKE pattern that matches it anywhere, literally (``%``/``_`` escaped)."""
    escaped = (
        text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
        .replace("%", LIKE_ESCAPE + "%")
        .replace("_", LIKE_ESCAPE + "_")
    )
    return f"%{escaped}%"


FIELD_NAME = re.compile(r"[a-z][a-z0-9_]{0,99}")


def _answer(field: str, dialect: str) -> ColumnElement[str]:
    """One answer as text. On PostgreSQL the key is written literally (a field name of the
    blueprint's schema, checked above), so the expression is the one the trigram indexes of
    migration 0035 are built on and the planner uses them even with a generic plan (ADR 0065)."""
    if dialect == "postgresql" and FIELD_NAME.fullmatch(field):
        answer: ColumnElement[str] = ApplicationRow.data.op("->>", return_type=String())(
            literal_column(f"'{field}'")
        )
        return answer
    fallback: ColumnElement[str] = ApplicationRow.data[field].as_string()
    return fallback


def _matches(query: CaseSearchQuery, dialect: str) -> ColumnElement[bool]:
    text = query.text.strip()
    found: list[ColumnElement[bool]] = []
    for match in query.fields:
        if not match.versions:
            continue
        value = _answer(match.field, dialect)
        condition = (
            func.upper(value) == text.upper()
            if match.exact
            else func.lower(value).like(literal_like(text.lower()), escape=LIKE_ESCAPE)
        )
        found.append(
            and_(ApplicationRow.blueprint_version_id.in_(sorted(match.versions)), condition)
        )
    return or_(*found) if text else false()


def _in_scope(statement: Select[ApplicationRow], department: str | None) -> Any:
    if department is None:
        return statement
    return statement.where(
        exists().where(
            TaskRow.application_id == ApplicationRow.id, TaskRow.department == department
        )
    )


async def search_cases(session: AsyncSession, query: CaseSearchQuery) -> CaseSearchPage:
    """Applications matching the query in the department's cases, newest first.

    A reference is unique and stored upper-case: it is looked up first through its index;
    otherwise the answers are searched (one statement over indexes on PostgreSQL, a scan on
    SQLite: ADR 0063, 0065)."""
    if query.after is None and query.text.strip():
        # by its unique index alone, then the scope for that one row: given the department
        # too, SQLite walks the department's tasks instead (5 s over 100,000 applications)
        by_reference = await session.scalar(
            select(ApplicationRow).where(ApplicationRow.reference == query.text.strip().upper())
        )
        if by_reference is not None and (
            query.department is None
            or await session.scalar(
                select(
                    exists().where(
                        TaskRow.application_id == by_reference.id,
                        TaskRow.department == query.department,
                    )
                )
            )
        ):
            return CaseSearchPage([header_of(by_reference)], False)
    statement = search_statement(query, session.get_bind().dialect.name)
    rows = list(await session.scalars(statement))
    return CaseSearchPage([header_of(r) for r in rows[: query.limit]], len(rows) > query.limit)


def search_statement(query: CaseSearchQuery, dialect: str) -> Select[ApplicationRow]:
    """The answers' search as one statement (``query.limit`` + 1 rows, newest first): on
    PostgreSQL each condition has an index of migration 0035 (trigrams for "contains"), so the
    conditions' OR is a BitmapOr of indexes rather than a scan of every application."""
    statement = _in_scope(select(ApplicationRow).where(_matches(query, dialect)), query.department)
    if query.after is not None:
        at, last_id = query.after
        statement = statement.where(
            or_(
                ApplicationRow.submitted_at < at,
                and_(ApplicationRow.submitted_at == at, ApplicationRow.id < last_id),
            )
        )
    ordered: Select[ApplicationRow] = statement.order_by(
        ApplicationRow.submitted_at.desc(), ApplicationRow.id.desc()
    ).limit(query.limit + 1)
    return ordered


async def departments_on_case(session: AsyncSession, application_id: str) -> frozenset[str]:
    """The departments with a step on an application (one statement)."""
    rows = await session.scalars(
        select(TaskRow.department)
        .where(TaskRow.application_id == application_id, TaskRow.department.is_not(None))
        .distinct()
    )
    return frozenset(str(d) for d in rows)


async def steps_of_department(
    session: AsyncSession, application_ids: Collection[str], department: str
) -> dict[str, list[str]]:
    """For each application, the ids of its steps that are the department's (one statement)."""
    if not application_ids:
        return {}
    rows = await session.execute(
        select(TaskRow.application_id, TaskRow.step_id).where(
            TaskRow.application_id.in_(sorted(application_ids)),
            TaskRow.department == department,
        )
    )
    out: dict[str, list[str]] = {}
    for application_id, step_id in rows:
        out.setdefault(str(application_id), []).append(str(step_id))
    return out
