"""A session-wide business mandate needs the register to name the person by id (found by the
attack review): a register entry naming its director only by name confirms a submission it is
asked about, but a namesake signing in must not get every application of the business."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from civicloom.kernel import ActingFor, Capacity, FixedClock, Principal
from civicloom.registries import mandates

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
JOHN = Principal(
    subject="some-other-person",
    display_name="john  SMITH",
    roles=frozenset({"citizen"}),
    authenticated_by="oidc-citizen",
)


def stub(entry: dict[str, Any], directors: tuple[str, ...] = ()) -> Any:
    async def verify(*_args: Any, **_kwargs: Any) -> ActingFor:
        return ActingFor(
            subject=JOHN.subject,
            registration_number="BR-2024-000777",
            capacity=Capacity.DIRECTOR,
            department="local-admin",
            capability="local-admin.business_lookup",
            agreement="DSA-2025-101",
            entry=entry,
            checked_at=NOW,
            directors=directors,
        )

    return verify


async def test_a_name_only_register_entry_gives_no_session_mandate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(mandates, "verify_acting_for", stub({"director_name": "John Smith"}))
    kept = await mandates.verified_mandates(
        lambda: None,  # type: ignore[arg-type, return-value]
        None,
        FixedClock(NOW),
        JOHN,
        ["BR-2024-000777"],
    )
    assert kept == frozenset()


async def test_a_register_naming_the_person_by_id_gives_the_mandate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        mandates,
        "verify_acting_for",
        stub({"director_name": "John Smith", "director_person_id": "some-other-person"}),
    )
    kept = await mandates.verified_mandates(
        lambda: None,  # type: ignore[arg-type, return-value]
        None,
        FixedClock(NOW),
        JOHN,
        ["BR-2024-000777"],
    )
    assert kept == frozenset({"BR-2024-000777"})
