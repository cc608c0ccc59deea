"""The payer always comes back to the platform: ``return_address`` (no open redirect).

The portal calls the payment service directly with an absolute address, so the service checks
it too, not only the API's documented pattern.
"""

from __future__ import annotations

import pytest

from civicloom.kernel import ValidationFailed
from civicloom.payments.services import return_address

PUBLIC = "https://licences.riverton.example"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("/applications/done", "https://licences.riverton.example/applications/done"),
        ("/", "https://licences.riverton.example/"),
        (
            "https://licences.riverton.example/applications/a1?paid=1",
            "https://licences.riverton.example/applications/a1?paid=1",
        ),
    ],
)
def test_a_page_of_the_platform_is_the_return_address(given: str, expected: str) -> None:
    assert return_address(PUBLIC, given) == expected


@pytest.mark.parametrize(
    "given",
    [
        "https://evil.example/applications/done",
        "//evil.example/x",
        "/\\evil.example/x",
        "http://licences.riverton.example/applications/done",  # another scheme: another origin
        "https://licences.riverton.example:8443/x",  # another port: another origin
        "https://licences.riverton.example\\@evil.example/x",
        "javascript:alert(1)",
        "applications/done",
    ],
)
def test_any_other_address_is_refused_naming_the_field(given: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        return_address(PUBLIC, given)
    assert [(e.field, e.rule) for e in refused.value.errors] == [
        ("return_url", "return-url-origin")
    ]
