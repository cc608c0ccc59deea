"""The officer's timeline in words: each stored event becomes a sentence with the department's
and the step's names; the stored machine message shows only for an event without words."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from civicloom.backoffice.timeline import officer_timeline_text
from civicloom.web.templating import translations_for
from tests.english import english_runs


@dataclass
class Entry:
    event: str
    step_id: str | None
    department: str | None
    message: str


STEPS = {"business_lookup": "Business check", "inspection": "Premises inspection"}
DEPARTMENTS = {"local-admin": "Local Administration", "environment": "Environment Department"}


def words(entry: Entry) -> str:
    return officer_timeline_text(
        entry,
        lambda s: STEPS.get(s or "", ""),
        lambda d: DEPARTMENTS.get(d or "", ""),
        lambda text: text,
        "en",
    )


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (
            Entry(
                "step.completed",
                "business_lookup",
                "local-admin",
                "local-admin: business_lookup done",
            ),
            "Local Administration completed: Business check",
        ),
        (
            Entry(
                "sla.escalated", "inspection", "environment", "environment: inspection is overdue"
            ),
            "Premises inspection is overdue; escalated to a supervisor of Environment Department",
        ),
        (
            Entry("step.skipped", "inspection", "environment", "inspection: not needed"),
            "Not needed for this application: Premises inspection",
        ),
        (
            Entry(
                "inspection.scheduled",
                "inspection",
                "environment",
                "An inspection of the premises is planned for 2026-12-10",
            ),
            "Environment Department will inspect the premises on 10 December 2026",
        ),
        (
            Entry("information.requested", "inspection", "environment", "Send the floor plan"),
            "Environment Department asked the applicant: Send the floor plan",
        ),
        (Entry("payment.received", None, None, "paid"), "Fee received"),
        (Entry("step.completed", None, None, "platform: payment done"), "platform: payment done"),
        (Entry("something.new", None, None, "kept as stored"), "kept as stored"),
    ],
)
def test_each_event_reads_as_a_sentence(entry: Entry, expected: str) -> None:
    assert words(entry) == expected


@pytest.mark.parametrize(
    "event",
    [
        "application.version_moved",
        "application.version_restored",
        "review.requested",
        "review.upheld",
        "review.overturned",
    ],
)
def test_every_event_the_engine_writes_reads_in_chinese(event: str) -> None:
    """Events whose stored message is English (issue 19): an officer reading Chinese gets
    Chinese words, never the stored message."""
    entry = Entry(event, "zoning", "local-admin", "Your application moved to version 2")
    text = officer_timeline_text(
        entry,
        lambda s: "分区核查",
        lambda d: "地方行政局",
        translations_for("zh-Hans").gettext,
        "zh-Hans",
    )
    assert text != entry.message
    assert english_runs(text, min_words=1) == []
