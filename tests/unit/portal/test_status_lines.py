"""The application page's timeline lines from stored entries (issue 19): the blueprint's step
titles and the departments' names in the reader's language, never the stored machine text."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from civicloom.applications import (
    ApplicationState,
    ApplicationStatus,
    ApplicationView,
    StepStatus,
    TaskState,
    TimelineEntry,
)
from civicloom.catalogue import Blueprint
from civicloom.kernel import LocalisedText
from civicloom.portal.pages.status import document_type_words, step_lines, timeline_lines
from civicloom.portal.queries import ApplicationPage
from civicloom.web import translations_for

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
BLUEPRINT = Blueprint.model_validate(
    {
        "id": "status-test",
        "version": 1,
        "owner": "environment",
        "reference_prefix": "STA",
        "title": {"en": "Status test", "zh-Hans": "状态测试"},
        "form": {"schema": {"type": "object", "properties": {}}},
        "steps": [
            {
                "id": "visit",
                "kind": "officer_review",
                "department": "environment",
                "title": {"en": "Premises inspection", "zh-Hans": "现场检查"},
            },
            {
                "id": "approve",
                "kind": "officer_review",
                "department": "environment",
                "title": {"en": "Decision", "zh-Hans": "决定"},
                "after": ["visit"],
            },
        ],
    }
)


def view(entries: list[TimelineEntry], state: str = "in_progress") -> ApplicationPage:
    app = ApplicationView(
        id="a1",
        reference="STA-1",
        service_id="status-test",
        blueprint_version=1,
        blueprint_version_id="v1",
        state=ApplicationState(state),
        data={},
        submitted_at=AT,
        updated_at=AT,
    )
    steps = [
        StepStatus(
            "approve", "officer_review", "environment", TaskState.CANCELLED, None, None, False
        ),
        StepStatus("visit", "officer_review", "environment", TaskState.COMPLETED, None, AT, False),
    ]
    return ApplicationPage(
        status=ApplicationStatus(application=app, steps=steps, timeline=entries),
        blueprint=BLUEPRINT,
        departments={
            "environment": LocalisedText.model_validate(
                {"en": "Environment Department", "zh-Hans": "环境局"}
            )
        },
    )


def test_an_inspection_date_is_a_date_in_the_readers_language() -> None:
    entry = TimelineEntry(
        AT,
        "inspection.scheduled",
        "visit",
        "environment",
        "An inspection of the premises is planned for 2026-12-10",
    )
    en = timeline_lines(view([entry]), "en", translations_for("en").gettext)
    assert [line.text for line in en] == [
        "You sent your application",
        "Environment Department will inspect the premises on 10 December 2026",
    ]
    zh = timeline_lines(view([entry]), "zh-Hans", translations_for("zh-Hans").gettext)
    assert zh[1].text == "环境局将于2026年12月10日检查经营场所"
    assert zh[1].department == "环境局"


def test_unknown_events_keep_their_stored_text_and_steps_follow_the_blueprint() -> None:
    entry = TimelineEntry(AT, "something.new", None, None, "A note")
    lines = timeline_lines(view([entry]), "en", translations_for("en").gettext)
    assert lines[-1].text == "A note"
    refused = step_lines(view([], state="rejected"), "en")
    assert [(s.step_id, s.state, s.label) for s in refused] == [
        ("visit", "completed", "completed"),
        ("approve", "cancelled", "not_needed"),
    ]
    withdrawn = step_lines(view([], state="withdrawn"), "en")
    assert withdrawn[1].label == "cancelled"


def test_document_types_read_as_the_blueprints_words_in_the_readers_language() -> None:
    with_documents = Blueprint.model_validate(
        {
            **BLUEPRINT.document(),
            "documents": [
                {
                    "type": "floor_plan",
                    "title": {"en": "Floor plan of the premises", "zh-Hans": "经营场所平面图"},
                }
            ],
        }
    )
    page = dataclasses.replace(view([]), blueprint=with_documents)
    en = document_type_words(page, "en", translations_for("en").gettext)
    assert en == {
        "floor_plan": "Floor plan of the premises",
        "review-evidence": "supporting document for your review",
    }
    zh = document_type_words(page, "zh-Hans", translations_for("zh-Hans").gettext)
    assert zh["floor_plan"] == "经营场所平面图"
    assert zh["review-evidence"] == "您的复核证明文件"
