"""A case's timeline in an officer's words: what the engine stored as an event and a short
machine message ("local-admin: business done") becomes a sentence naming the department and the
step by their names, in the reader's language. The applicant's own page words the same events
for the applicant (``portal.pages.status.timeline_lines``); this is the staff side."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Protocol

from babel.dates import format_date

BABEL_LOCALES = {"en": "en_GB", "zh-Hans": "zh_Hans_CN"}  # as the pages' date filter


class TimelineLike(Protocol):
    """What the wording needs of a timeline entry."""

    event: str
    step_id: str | None
    department: str | None
    message: str


# Events whose stored message is the officer's or applicant's own words, shown after a label.
_QUOTED = {"information.requested"}


def officer_timeline_text(
    entry: TimelineLike,
    step_title: Callable[[str | None], str],
    department_name: Callable[[str | None], str],
    gettext: Callable[[str], str],
    locale: str = "en",
) -> str:
    """One timeline entry as an officer reads it (the stored message only where nothing better
    is known: an event this page has no words for)."""
    _ = gettext
    step = step_title(entry.step_id)
    who = department_name(entry.department) or _("The platform")
    words = {"department": who, "step": step}
    by_event: dict[str, str] = {
        "step.completed": _("%(department)s completed: %(step)s"),
        "step.waiting": _("%(department)s is working on: %(step)s"),
        "step.review": _("%(department)s is reviewing: %(step)s"),
        "step.skipped": _("Not needed for this application: %(step)s"),
        "step.retried": _("%(department)s is trying again: %(step)s"),
        "step.delayed": _("%(step)s is delayed; the operations team is looking into it"),
        "sla.escalated": _("%(step)s is overdue; escalated to a supervisor of %(department)s"),
        "applicant.action": _("Waiting for the applicant: %(step)s"),
    }
    if entry.event in by_event and step:
        return by_event[entry.event] % words
    plain: dict[str, str] = {
        "payment.requested": _("The applicant was asked to pay the fee"),
        "payment.received": _("Fee received"),
        "payment.declined": _("Payment declined"),
        "payment.abandoned": _("Payment not completed"),
        "payment.refunded": _("Fee refunded"),
        "information.provided": _("The applicant sent more information"),
        "application.approved": _("Application approved"),
        "application.rejected": _("Application refused"),
        "application.withdrawn": _("Application withdrawn by the applicant"),
        "application.failed": _("Application could not be completed"),
        "application.deadline_passed": _("The legal deadline passed without a decision"),
        "application.version_moved": _("The application moved to a new version of the service"),
        "application.version_restored": _(
            "The application moved back to the earlier version of the service"
        ),
        "review.requested": _("Applicant asked for a review of the refusal"),
    }
    if entry.event in plain:
        return plain[entry.event]
    if entry.event == "review.upheld":
        return _("%(department)s looked at the decision again: it stays as it was") % words
    if entry.event == "review.overturned":
        return _("%(department)s looked at the decision again and changed it") % words
    if entry.event in _QUOTED:
        return _("%(department)s asked the applicant: %(request)s") % {
            "department": who,
            "request": entry.message,
        }
    if entry.event == "inspection.scheduled" and (planned := _iso_day(entry.message)):
        return _("%(department)s will inspect the premises on %(date)s") % {
            "department": who,
            "date": format_date(planned, "long", locale=BABEL_LOCALES.get(locale, "en_GB")),
        }
    return entry.message


def _iso_day(message: str) -> date | None:
    """The day at the end of a stored message ("… planned for 2026-12-10")."""
    found = re.search(r"(\d{4}-\d{2}-\d{2})$", message.strip())
    try:
        return date.fromisoformat(found[1]) if found else None
    except ValueError:
        return None
