"""Feedback from the Beta banner: what visitors think of the service, anonymously.

A rating on the GOV.UK five-point scale and an optional comment, with the page the visitor
came from; nothing identifies them (no subject, no address). Read back as monthly satisfaction
and recent comments by the central team and service owners (``civicloom.kpis``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from civicloom.db import UnitOfWork
from civicloom.kernel import Clock, FieldError, ValidationFailed, new_id, normalise_text
from civicloom.portal.tables import FeedbackRow

RATINGS = ("very-satisfied", "satisfied", "neither", "dissatisfied", "very-dissatisfied")
"""The five points, best first (GOV.UK's satisfaction question)."""
SATISFIED = frozenset({"very-satisfied", "satisfied"})
MAX_COMMENT = 1200
_PAGE = re.compile(r"^/[A-Za-z0-9/_.~%-]{0,299}$")


@dataclass(frozen=True)
class Feedback:
    """One visitor's feedback."""

    rating: str
    comment: str
    page: str
    locale: str
    created_at: datetime


@dataclass(frozen=True)
class FeedbackReport:
    """Feedback between two instants: counts per rating and the newest comments."""

    counts: dict[str, int]
    comments: list[Feedback]

    @property
    def total(self) -> int:
        """How many visitors answered."""
        return sum(self.counts.values())

    @property
    def satisfaction(self) -> float | None:
        """The share who were satisfied or very satisfied (None: nobody answered)."""
        if not self.total:
            return None
        return sum(n for rating, n in self.counts.items() if rating in SATISFIED) / self.total


_ID_SEGMENT = re.compile(r"^(?:[0-9a-fA-F-]{16,}|.*\d{4,}.*)$")


def return_path(value: str | None) -> str:
    """Where "go back" leads: a same-site path as given, else the home page (never a URL)."""
    if not value or not _PAGE.match(value) or value.startswith("//"):
        return "/"
    return value


def came_from(value: str | None) -> str:
    """The page the visitor came from, as a route: a same-site path whose id-like segments
    (application ids, references, licence numbers) read ``{id}``, so feedback stays anonymous
    and names no case; anything else is the home page (never a URL)."""
    if not value or not _PAGE.match(value) or value.startswith("//"):
        return "/"
    path = value.split("?", 1)[0]
    return "/".join("{id}" if _ID_SEGMENT.match(part) else part for part in path.split("/"))


def check_feedback(rating: str | None, comment: str | None) -> tuple[str, str]:
    """The rating and comment as stored, or ValidationFailed naming the field and the rule."""
    errors: list[FieldError] = []
    if rating not in RATINGS:
        errors.append(FieldError("rating", "required", "rating must be one of the five answers"))
    text = (comment or "").strip()
    if len(text) > MAX_COMMENT:
        errors.append(
            FieldError("comment", "max-length", f"comment is longer than {MAX_COMMENT} characters")
        )
    if errors:
        raise ValidationFailed(errors)
    return str(rating), normalise_text(text, "comment")


async def record_feedback(
    uow: UnitOfWork,
    clock: Clock,
    *,
    rating: str | None,
    comment: str | None,
    page: str | None,
    locale: str,
) -> None:
    """Store one visitor's feedback (checked first: a refused answer writes nothing)."""
    checked_rating, checked_comment = check_feedback(rating, comment)
    async with uow:
        uow.session.add(
            FeedbackRow(
                id=new_id(),
                rating=checked_rating,
                comment=checked_comment,
                page=came_from(page),
                locale=locale,
                created_at=clock.now(),
            )
        )
        await uow.commit()


async def feedback_report(
    uow: UnitOfWork, start: datetime, end: datetime, comments: int = 50
) -> FeedbackReport:
    """Counts per rating in ``[start, end)`` and the newest comments (two statements)."""
    async with uow:
        window = (FeedbackRow.created_at >= start, FeedbackRow.created_at < end)
        rows = await uow.session.execute(
            select(FeedbackRow.rating, func.count()).where(*window).group_by(FeedbackRow.rating)
        )
        counts = dict.fromkeys(RATINGS, 0)
        for rating, n in rows:
            counts[str(rating)] = int(n)
        newest = await uow.session.scalars(
            select(FeedbackRow)
            .where(*window, FeedbackRow.comment != "")
            .order_by(FeedbackRow.created_at.desc(), FeedbackRow.id.desc())
            .limit(comments)
        )
        return FeedbackReport(
            counts,
            [Feedback(r.rating, r.comment, r.page, r.locale, r.created_at) for r in newest],
        )
