"""How many SMS a text goes as: GSM-7 160 / 153 per part, UCS-2 70 / 67 per part."""

from __future__ import annotations

import pytest

from civicloom.notifications import sms_fragments


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # the euro sign is an extension character: two septets each
        ("€" * 81, 2),
        ("é" * 160, 1),  # in the GSM default alphabet
        ("汉" * 70, 1),
        ("汉" * 71, 2),
        ("汉" * 134, 2),
        ("汉" * 135, 3),
        ("a" * 100 + "汉", 2),  # one character outside GSM-7 makes the whole text UCS-2
        ("😀" * 35, 1),  # two UTF-16 code units each
        ("😀" * 36, 2),
    ],
)
def test_sms_fragments(text: str, parts: int) -> None:
    assert sms_fragments(text) == parts
