"""The messages of a review of a refusal (ADR 0059), as the applicant gets them: in words, with
the reason and the next avenue, in English and Chinese, and links that land on her page."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from civicloom.applications import StepRunner
from civicloom.outbox import EventType
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.backoffice.conftest import departments, runner
from tests.integration.backoffice.world import drain, submit
from tests.integration.notifications.test_links_in_messages import LINK, messages_for

__all__ = ["departments", "runner"]  # the back-office world's fixtures


async def test_review_messages_read_in_words_and_link_to_the_application(
    container: Container, runner: StepRunner, client: httpx.AsyncClient
) -> None:
    app_id = await submit(container, "review-messages")
    await drain(runner)
    common = {"application_id": app_id, "review_id": "r-1", "department": "local-admin"}
    asked = await messages_for(
        container,
        EventType.REVIEW_REQUESTED,
        {**common, "step": "licensing_review", "due_on": "2026-12-18"},
    )
    upheld = await messages_for(
        container, EventType.REVIEW_UPHELD, {**common, "reason": "The parcel is residential"}
    )
    overturned = await messages_for(
        container, EventType.REVIEW_OVERTURNED, {**common, "reason": "The map was corrected"}
    )
    first = next(m for m in asked if m.channel == "email")
    assert "answer by 2026-12-18" in first.body_text
    kept = next(m for m in upheld if m.channel == "email")
    assert "Why: The parcel is residential." in kept.body_text
    assert "appeal to the Administrative Court within 30 days" in kept.body_text
    changed = next(m for m in overturned if m.channel == "email")
    assert "your application goes on" in changed.body_text
    for message in [*asked, *upheld, *overturned]:
        assert message.recipient_id == "alice"
        for url in LINK.findall(message.body_text):
            path = urlsplit(url.rstrip(".。,")).path
            assert path == f"/applications/{app_id}"
            page = await client.get(path, headers={**as_persona("alice"), "Accept": "text/html"})
            assert page.status_code == 200
