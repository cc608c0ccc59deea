"""The pure rules of staff case search (ADR 0063): literal patterns, the search box's checks,
page cursors, which form fields name a person, who searches which department's cases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from civicloom.applications import ApplicationHeader, Forbidden
from civicloom.applications.search import literal_like
from civicloom.backoffice.cases import (
    case_scope,
    check_query,
    cursor_of,
    parse_cursor,
    person_name_fields,
)
from civicloom.kernel import Principal, ValidationFailed


def test_wildcards_and_the_escape_character_are_escaped() -> None:
    assert literal_like("100%") == "%100\\%%"
    assert literal_like("e_b") == "%e\\_b%"
    assert literal_like("a\\b") == "%a\\\\b%"
    assert literal_like("golden") == "%golden%"


@pytest.mark.parametrize(
    ("typed", "rule"),
    [
        ("", "required"),
        ("   ", "required"),
        ("x", "min-length"),
        ("y" * 101, "max-length"),
        ("Golden\nDragon", "control-character"),
        ("Golden\u202eDragon", "bidi-control"),
    ],
)
def test_the_search_box_names_the_rule_broken(typed: str, rule: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_query(typed)
    assert [(e.field, e.rule) for e in refused.value.errors] == [("q", rule)]


def test_the_search_box_keeps_what_was_typed_without_outer_spaces() -> None:
    assert check_query("  Golden Dragon ") == "Golden Dragon"
    assert check_query("金龙") == "金龙"
    assert check_query("y" * 100) == "y" * 100


def test_a_cursor_reads_back_and_a_forged_one_is_refused() -> None:
    at = datetime(2026, 12, 5, 9, 30, 15, 120000, tzinfo=UTC)
    header = ApplicationHeader("0b4c", "RST-1", "open-a-restaurant", "in_progress", at, "v1")
    assert parse_cursor(cursor_of(header)) == (at, "0b4c")
    for forged in ("not-a-cursor", "", "MjAyNi0xMi0wNQ", "!!!"):
        with pytest.raises(ValidationFailed) as refused:
            parse_cursor(forged)
        assert refused.value.errors[0].field == "after"


def test_person_name_fields_are_personal_fields_named_like_names() -> None:
    properties = {
        "business_name": {"x-data-class": "business"},
        "director_name": {"x-data-class": "personal"},
        "contact_email": {"x-data-class": "personal"},
        "vessel_name": {"x-data-class": "business"},
    }
    assert person_name_fields(properties) == ["director_name"]


def test_who_searches_which_cases() -> None:
    def who(roles: set[str], department: str | None = None) -> Principal:
        return Principal("p", "P", frozenset(roles), department)

    assert case_scope(who({"officer"}, "tax")) == "tax"
    assert case_scope(who({"supervisor"}, "labour")) == "labour"
    assert case_scope(who({"auditor"})) is None
    for refused in (
        who({"officer"}),
        who({"service-owner"}, "local-admin"),
        who({"operator"}),
        who({"citizen"}),
        who({"finance-officer"}, "local-admin"),
    ):
        with pytest.raises(Forbidden):
            case_scope(refused)
