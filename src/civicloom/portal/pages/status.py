"""The application page's steps and timeline in words a citizen reads: steps in the order the
blueprint declares them, each timeline line built from the blueprint's step title and the
department's name in the reader's language (never the stored machine text such as
"tax: tax done")."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from babel.dates import format_date

from civicloom.applications import StepStatus, refusal_in_words
from civicloom.portal.queries import ApplicationPage
from civicloom.web import localise

BABEL_LOCALES = {"en": "en_GB", "zh-Hans": "zh_Hans_CN"}  # as the pages' date filter
PAYMENT_DUE = "payment_due"  # the page's own state while the fee waits for the applicant
NOT_NEEDED = "not_needed"  # a step the refusal made unnecessary (stored as "cancelled")


@dataclass(frozen=True)
class StepLine:
    """One row of "Progress in each department"."""

    step_id: str
    title: str
    department: str
    state: str  # the TaskState value (what scripts and tests read)
    label: str  # what the citizen reads: the state, or PAYMENT_DUE / NOT_NEEDED
    expected_by: datetime | None
    completed_at: datetime | None


@dataclass(frozen=True)
class TimelineLine:
    """One line of the timeline."""

    at: datetime
    department: str
    text: str


def payment_due(view: ApplicationPage) -> bool:
    """Whether the fee is waiting for the applicant to pay."""
    return view.status.application.state.value == "in_progress" and any(
        s.kind == "payment" and s.state.value == "awaiting_external" for s in view.status.steps
    )


def _order(view: ApplicationPage) -> dict[str, int]:
    return {step.id: index for index, step in enumerate(view.blueprint.steps)}


def step_lines(view: ApplicationPage, locale: str) -> list[StepLine]:
    """The steps a citizen sees, in blueprint order (skipped steps left out)."""
    order = _order(view)
    refused = view.status.application.state.value == "rejected"

    def label(s: StepStatus) -> str:
        if s.kind == "payment" and s.state.value == "awaiting_external":
            return PAYMENT_DUE
        if s.state.value == "cancelled" and refused:
            return NOT_NEEDED
        return s.state.value

    shown = [s for s in view.status.steps if s.state.value != "skipped"]
    shown.sort(key=lambda s: (order.get(s.step_id, len(order)), s.step_id))
    return [
        StepLine(
            step_id=s.step_id,
            title=_step_title(view, s.step_id, locale),
            department=_department(view, s.department, locale),
            state=s.state.value,
            label=label(s),
            expected_by=s.expected_by,
            completed_at=s.completed_at,
        )
        for s in shown
    ]


REVIEW_EVIDENCE = "review-evidence"  # the platform-wide type of a review's document (ADR 0059)


def document_type_words(
    view: ApplicationPage, locale: str, gettext: Callable[[str], str]
) -> dict[str, str]:
    """Each document type the application may hold, as the citizen reads it: the blueprint's
    title in her language, and the platform's own review document in words (never an id such
    as ``floor_plan``)."""
    words = {REVIEW_EVIDENCE: gettext("supporting document for your review")}
    for spec in view.blueprint.documents:
        if spec.title is not None:
            words[spec.type] = localise(spec.title, locale)
    return words


def _step_title(view: ApplicationPage, step_id: str | None, locale: str) -> str:
    step = view.blueprint.step(step_id) if step_id else None
    return localise(step.title, locale) if step is not None and step.title else ""


def _department(view: ApplicationPage, department: str | None, locale: str) -> str:
    name = view.departments.get(department) if department else None
    return localise(name, locale) if name is not None else ""


def refusal_reason(view: ApplicationPage, locale: str) -> str:
    """Why the application was refused, in the reader's language (the engine's own reason
    names the step by its title there; an officer's reason is theirs, as written)."""
    reason = view.status.application.outcome_reason or ""
    titles = [step.title for step in view.blueprint.steps if step.title]
    return refusal_in_words(titles, reason, locale) if reason else ""


def _iso_day(message: str) -> date | None:
    """The day at the end of a stored message ("… planned for 2026-12-10")."""
    found = re.search(r"(\d{4}-\d{2}-\d{2})$", message.strip())
    try:
        return date.fromisoformat(found[1]) if found else None
    except ValueError:
        return None


def timeline_lines(
    view: ApplicationPage, locale: str, gettext: Callable[[str], str]
) -> list[TimelineLine]:
    """A page of the timeline, oldest first within the page (the page shows it newest first);
    the oldest page starts with the day the application was sent."""
    _ = gettext
    app = view.status.application
    lines: list[TimelineLine] = []
    if view.status.timeline_older is None:
        lines.append(TimelineLine(app.submitted_at, "", _("You sent your application")))
    for entry in view.status.timeline:
        department = _department(view, entry.department, locale)
        # a step without a title is named in words, never by its stored machine message
        step = _step_title(view, entry.step_id, locale) or (
            _("a step of your application") if entry.step_id else ""
        )
        who = department or _("We")
        event = entry.event
        text: str
        if event == "step.completed" and step:
            text = _("%(department)s completed: %(step)s") % {"department": who, "step": step}
        elif event == "step.waiting" and step:
            text = _("%(department)s is working on: %(step)s") % {"department": who, "step": step}
        elif event == "step.review" and step:
            text = _("%(department)s is reviewing: %(step)s") % {"department": who, "step": step}
        elif event == "payment.requested":
            text = _("You can now pay the fee")
        elif event == "applicant.action" and step:
            text = _("Your action is needed: %(step)s") % {"step": step}
        elif event == "step.delayed" and step:
            text = _("%(step)s is delayed; our team is looking into it") % {"step": step}
        elif event == "step.retried" and step:
            text = _("%(department)s is trying again: %(step)s") % {
                "department": who,
                "step": step,
            }
        elif event == "information.requested":
            text = _("%(department)s asked for more information: %(request)s") % {
                "department": who,
                "request": entry.message,
            }
        elif event == "inspection.scheduled" and (planned := _iso_day(entry.message)):
            text = _("%(department)s will inspect the premises on %(date)s") % {
                "department": who,
                "date": format_date(planned, "long", locale=BABEL_LOCALES.get(locale, "en_GB")),
            }
        elif event == "information.provided":
            text = _("You sent more information")
        elif event == "payment.received":
            text = _("We received your payment")
        elif event == "payment.declined":
            text = _("Your payment was declined. You have not been charged.")
        elif event == "payment.abandoned":
            text = _("Your payment was not completed. You have not been charged.")
        elif event == "payment.refunded":
            text = _("Your payment was refunded")
        elif event == "application.approved":
            text = _("Your application has been approved")
        elif event == "application.rejected":
            text = _("Your application was refused")
            if app.outcome_reason:
                text = _("Your application was refused: %(reason)s") % {
                    "reason": refusal_reason(view, locale)
                }
        elif event == "review.requested":
            text = _("You asked for a review of the decision")
        elif event == "review.upheld":
            text = _("%(department)s looked at the decision again: it stays as it was") % {
                "department": who
            }
        elif event == "review.overturned":
            text = _("%(department)s looked at the decision again and changed it") % {
                "department": who
            }
        elif event == "application.withdrawn":
            text = _("You withdrew your application")
        elif event == "application.failed":
            text = _("Your application could not be completed")
        elif event == "application.deadline_passed":
            text = _("The legal deadline passed without a decision")
        elif event == "application.version_moved":
            text = _("Your application moved to a new version of the service")
        elif event == "application.version_restored":
            text = _("Your application moved back to the earlier version of the service")
        else:
            text = entry.message
        lines.append(TimelineLine(entry.at, department, text))
    return lines
