"""Pure back-office rules: SLA states and which document types a department may open."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from civicloom.backoffice import SlaState, sla_state
from civicloom.backoffice.domain import is_department_staff, visible_document_types
from civicloom.catalogue import Blueprint
from civicloom.kernel import Principal

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("due", "state"),
    [
        (None, SlaState.NONE),
        (NOW - timedelta(seconds=1), SlaState.BREACHED),
        (NOW, SlaState.DUE_SOON),
        (NOW + timedelta(days=2), SlaState.DUE_SOON),
        (NOW + timedelta(days=2, seconds=1), SlaState.ON_TRACK),
    ],
)
def test_sla_state(due: datetime | None, state: SlaState) -> None:
    assert sla_state(due, NOW) is state


def blueprint() -> Blueprint:
    return Blueprint.model_validate(
        {
            "id": "shop",
            "version": 1,
            "owner": "local-admin",
            "reference_prefix": "SHP",
            "title": {"en": "Shop", "zh-Hans": "商店"},
            "form": {"schema": {"type": "object"}},
            "documents": [
                {"type": "floor_plan", "visible_to": ["environment"]},
                {"type": "lease"},
            ],
        }
    )


def test_document_types_follow_the_blueprint() -> None:
    assert visible_document_types(blueprint(), "local-admin") == {"floor_plan", "lease"}
    assert visible_document_types(blueprint(), "environment") == {"floor_plan"}
    assert visible_document_types(blueprint(), "tax") == frozenset()
    assert visible_document_types(None, "tax") == frozenset()


def test_only_staff_of_the_same_department() -> None:
    elena = Principal("elena", "Elena", frozenset({"officer"}), "environment")
    sam = Principal("sam", "Sam", frozenset({"service-owner"}), "local-admin")
    assert is_department_staff(elena, "environment")
    assert not is_department_staff(elena, "tax")
    assert not is_department_staff(elena, None)
    assert not is_department_staff(sam, "local-admin")
