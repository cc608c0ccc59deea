"""The inbound-text gate (kernel/text.py) and the portal's reading of numbers and dates."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import Field, ValidationError

from civicloom.kernel import (
    InboundModel,
    Line,
    TextKind,
    ValidationFailed,
    normalise_data,
    normalise_text,
    one_line,
    parse_ascii_number,
    text_problem,
)
from civicloom.portal.forms import FormField, parse_field


@pytest.mark.parametrize(
    ("text", "kind", "rule"),
    [
        ("\ud800", TextKind.TEXT, "unicode"),
        ("a\x00b", TextKind.TEXT, "control-character"),
        ("a\x1bb", TextKind.TEXT, "control-character"),
        ("a\x7fb", TextKind.TEXT, "control-character"),
        ("a\u0085b", TextKind.TEXT, "control-character"),
        ("a\nb", TextKind.LINE, "control-character"),
        ("a\tb", TextKind.LINE, "control-character"),
        ("a\u202eb", TextKind.TEXT, "bidi-control"),
        ("a\u2067b", TextKind.LINE, "bidi-control"),
        ("a\u200fb", TextKind.LINE, "bidi-control"),
        ("a\u200bb", TextKind.FILE_NAME, "invisible-character"),
        ("a\ue000b", TextKind.FILE_NAME, "invisible-character"),
    ],
)
def test_refused_texts_name_their_rule(text: str, kind: TextKind, rule: str) -> None:
    problem = text_problem(text, kind)
    assert problem is not None
    assert problem[0] == rule
    with pytest.raises(ValidationFailed) as caught:
        normalise_text(text, "business_name", kind)
    assert [(e.field, e.rule) for e in caught.value.errors] == [("business_name", rule)]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("line one\nline two\ttabbed\r\n", TextKind.TEXT),
        ("金龙厨房有限公司", TextKind.LINE),
        ("a\u200bb", TextKind.LINE),  # a zero-width space is allowed in a name, not a file name
        ("Floor plan (v2).pdf", TextKind.FILE_NAME),
    ],
)
def test_accepted_texts(text: str, kind: TextKind) -> None:
    assert text_problem(text, kind) is None


def test_accepted_text_is_nfc() -> None:
    assert normalise_text("Cafe\u0301", "name") == "Caf\u00e9"
    assert normalise_text("\uff21", "name") == "\uff21"  # NFC, not NFKC: full-width A stays


def test_every_bad_text_of_json_data_is_named() -> None:
    data: dict[str, Any] = {
        "name": "ok",
        "address": {"lines": ["1 Road", "bad\x07"]},
        "note": "\ud800",
        "count": 3,
        "ba\u202ed": "key",
    }
    with pytest.raises(ValidationFailed) as caught:
        normalise_data(data)
    assert sorted((e.field, e.rule) for e in caught.value.errors) == [
        ("data", "bidi-control"),
        ("data.address.lines.1", "control-character"),
        ("data.note", "unicode"),
    ]
    assert normalise_data({"n": ["e\u0301"], "k": 1.5, "b": None}) == {
        "n": ["\u00e9"],
        "k": 1.5,
        "b": None,
    }


@pytest.mark.parametrize(
    ("given", "integer", "read"),
    [
        ("40", True, 40),
        (" -3 ", True, -3),
        ("+7", True, 7),
        ("٤٠", True, None),
        ("２０００", True, None),
        ("4_0", True, None),
        ("1e3", True, None),
        ("9" * 31, True, None),
        ("2.5", False, 2.5),
        ("2", False, 2.0),
        ("inf", False, None),
        ("nan", False, None),
        ("1e308", False, None),
        ("٢.٥", False, None),
    ],
)
def test_numbers_are_read_with_ascii_digits_only(
    given: str, integer: bool, read: float | None
) -> None:
    assert parse_ascii_number(given, integer=integer) == read


def test_one_line_makes_a_safe_subject() -> None:
    assert one_line("Your\r\nlicence \u202eis\u2028ready\x00 ") == "Your licence is ready"


class Body(InboundModel):
    title: Line
    note: str = ""
    tags: list[Any] = Field(default_factory=list)


@pytest.mark.parametrize(
    ("given", "field", "rule"),
    [
        ({"title": "a\nb"}, "title", "control-character"),
        ({"title": "ok", "note": "a\u202eb"}, "note", "bidi-control"),
        ({"title": "ok", "tags": ["ok", "\ud800"]}, "tags", "unicode"),
    ],
)
def test_inbound_models_refuse_by_field_and_rule(
    given: dict[str, Any], field: str, rule: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        Body.model_validate(given)
    assert [(e["loc"], e["type"]) for e in caught.value.errors()] == [((field,), rule)]


def test_inbound_models_normalise() -> None:
    body = Body.model_validate({"title": "Cafe\u0301", "note": "a\nb", "tags": ["e\u0301"]})
    assert (body.title, body.note, body.tags) == ("Caf\u00e9", "a\nb", ["\u00e9"])


def _same(text: str) -> str:
    return text


NUMBER = FormField("seating", "Seats", "number", True, schema={"type": "integer"})
DATE = FormField("opening_date", "Opening date", "date", True)
TEXT = FormField("business_name", "Business name", "text", True)
AREA = FormField("premises_address", "Address", "textarea", True)


@pytest.mark.parametrize(
    ("form", "field", "value", "error"),
    [
        ({"seating": "40"}, NUMBER, 40, None),
        ({"seating": "٤٠"}, NUMBER, None, "Seats must be written with the digits 0 to 9"),
        ({"seating": "２０００"}, NUMBER, None, "Seats must be written with the digits 0 to 9"),
        ({"seating": "4_0"}, NUMBER, None, "Seats must be a whole number"),
        (
            {"opening_date-day": "١", "opening_date-month": "3", "opening_date-year": "2027"},
            DATE,
            None,
            "Opening date must be a real date",
        ),
        (
            {"opening_date-day": "1", "opening_date-month": "3", "opening_date-year": "2027"},
            DATE,
            "2027-03-01",
            None,
        ),
        ({"business_name": " Cafe\u0301 "}, TEXT, "Caf\u00e9", None),
        (
            {"business_name": "Golden\nDragon"},
            TEXT,
            None,
            "Business name must not contain control or hidden formatting characters",
        ),
        ({"premises_address": "1 Road\nTown"}, AREA, "1 Road\nTown", None),
        (
            {"premises_address": "1 Road\u202e"},
            AREA,
            None,
            "Address must not contain control or hidden formatting characters",
        ),
    ],
)
def test_portal_fields_read_with_the_gate(
    form: dict[str, str], field: FormField, value: Any, error: str | None
) -> None:
    assert parse_field(field, form, _same) == (value, error)
