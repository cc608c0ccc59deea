"""The portal inbox: the person's portal messages, newest first, new ones marked until seen."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import httpx

from civicloom.notifications import ChannelKind, DeliveryStatus
from civicloom.notifications.tables import DeliveryRow
from civicloom.runtime import Container
from tests.conftest import as_persona

ALICE = {**as_persona("alice"), "Accept": "text/html"}
BOB = {**as_persona("bob"), "Accept": "text/html"}


async def deliver_to(
    container: Container, subject: str, title: str, minutes_ago: int, status: str
) -> str:
    """A portal message as the notifications module stores it after delivery."""
    row_id = str(uuid.uuid4())
    async with container.uow() as uow:
        uow.session.add(
            DeliveryRow(
                id=row_id,
                source_key=f"event-{row_id}",
                batch_id=None,
                application_id=None,
                recipient_id=subject,
                channel=ChannelKind.PORTAL.value,
                address=subject,
                template="common/test",
                template_version="1",
                locale="en",
                subject=title,
                body_text=f"Body of {title}",
                body_html="",
                status=status,
                attempts=1,
                created_at=container.clock.now() - timedelta(minutes=minutes_ago),
            )
        )
        await uow.commit()
    return row_id


def states(html: str) -> list[tuple[str, str]]:
    """(subject, read state) of each message, in page order."""
    found = re.findall(
        r'data-state="(\w+)">\s*<h2[^>]*>(?:<strong[^>]*>[^<]*</strong>)?([^<]+)</h2>', html
    )
    return [(title.strip(), state) for state, title in found]


async def test_inbox_lists_newest_first_and_marks_new_until_seen(
    container: Container, client: httpx.AsyncClient
) -> None:
    await deliver_to(container, "alice", "Application received", 30, DeliveryStatus.DELIVERED)
    await deliver_to(container, "alice", "Pay the licence fee", 5, DeliveryStatus.DELIVERED)
    await deliver_to(container, "alice", "Not yet delivered", 1, DeliveryStatus.QUEUED)
    await deliver_to(container, "bob", "Message for Bob", 2, DeliveryStatus.DELIVERED)

    first = await client.get("/inbox", headers=ALICE)
    assert first.status_code == 200
    assert states(first.text) == [
        ("Pay the licence fee", "unread"),
        ("Application received", "unread"),
    ]
    assert "You have 2 new messages." in first.text
    assert "Message for Bob" not in first.text

    second = await client.get("/inbox", headers=ALICE)  # the browser kept the seen marker
    assert states(second.text) == [
        ("Pay the licence fee", "read"),
        ("Application received", "read"),
    ]

    await deliver_to(container, "alice", "Your licence is ready", 0, DeliveryStatus.DELIVERED)
    third = await client.get("/inbox", headers=ALICE)
    assert states(third.text)[0] == ("Your licence is ready", "unread")
    assert [s for _, s in states(third.text)[1:]] == ["read", "read"]

    # another person in the same browser: Alice's marker does not apply to Bob
    bob = await client.get("/inbox", headers=BOB)
    assert states(bob.text) == [("Message for Bob", "unread")]


async def test_inbox_in_chinese_and_empty(client: httpx.AsyncClient) -> None:
    page = await client.get("/inbox", headers={**ALICE, "Accept-Language": "zh-Hans"})
    assert page.status_code == 200
    assert "消息" in page.text
    assert 'data-state="' not in page.text


async def test_inbox_needs_sign_in(client: httpx.AsyncClient) -> None:
    page = await client.get("/inbox", headers={"Accept": "text/html"}, follow_redirects=False)
    assert page.status_code in (302, 303, 401)
