"""The e-mail the staff get when a review of a refusal arrives (ADR 0059): only those who may
decide it (the refused step's role and supervisors of the refusing department, never the
officer who refused), in their language, naming the application, the service and the business
in words, with a link that lands on the review page signed in and on sign-in signed out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select

from civicloom.applications import ReviewDecision, ReviewView, StepRunner
from civicloom.applications.tables import ReviewRow
from civicloom.notifications import plan_notifications
from civicloom.notifications.tables import DeliveryRow, PreferenceRow
from civicloom.notifications.templates import TemplateLibrary
from civicloom.outbox.tables import OutboxRow
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.backoffice.conftest import departments, runner
from tests.integration.backoffice.refusal import ask_review, decide, refused
from tests.integration.notifications.conftest import SmtpServer, notification_worker, relay_all
from tests.integration.notifications.test_links_in_messages import LINK

__all__ = ["departments", "runner"]  # the back-office world's fixtures
NORA, GRACE = "nora.quinn@local-admin.example.gov", "grace.park@local-admin.example.gov"
OLIVIA, FELIX = "olivia.grant@local-admin.example.gov", "felix.braun@local-admin.example.gov"


async def _arrived(container: Container, app_id: str) -> tuple[ReviewView, OutboxRow]:
    """Alice asks for a review of the refusal; the review and the event that tells the staff."""
    review = await ask_review(container, app_id)
    async with container.uow() as uow:
        event = await uow.session.scalar(
            select(OutboxRow).where(OutboxRow.key == f"review.arrived:{review.id}")
        )
    assert event is not None
    return review, event


async def test_the_staff_who_may_decide_a_review_get_an_email_that_links_to_it(
    container: Container, runner: StepRunner, client: httpx.AsyncClient
) -> None:
    app_id = await refused(container, runner, "rs-arrived")  # Olivia refused
    async with container.uow() as uow:  # Nora reads her messages in Chinese
        uow.session.add(
            PreferenceRow(
                subject="nora",
                email="nora.quinn@local-admin.example.gov",
                locale="zh-Hans",
                channels=["email"],
                updated_at=datetime(2026, 12, 1, tzinfo=UTC),
            )
        )
        await uow.commit()
    review, event = await _arrived(container, app_id)
    assert event.topic == "internal.review.arrived"  # staff ids never leave the platform
    await plan_notifications(
        container, TemplateLibrary(Path("blueprints/templates")), event.payload
    )
    async with container.uow() as uow:
        sent = list(
            await uow.session.scalars(
                select(DeliveryRow).where(DeliveryRow.source_key == event.payload["id"])
            )
        )
    # not Olivia (she refused), not Felix (no licensing role), not Elena (environment), not
    # Alice or any other citizen
    assert sorted((d.recipient_id, d.channel) for d in sent) == [
        ("grace", "email"),
        ("nora", "email"),
    ]
    grace = next(d for d in sent if d.recipient_id == "grace")
    nora = next(d for d in sent if d.recipient_id == "nora")
    assert grace.subject == f"Review asked for: {review.reference} (Open a restaurant)"
    assert "(Open a restaurant, Golden Dragon Kitchen Ltd)" in grace.body_text
    assert "The refused step: Licensing decision." in grace.body_text
    assert nora.subject == f"复核申请：{review.reference}（开设餐馆）"
    assert "（开设餐馆，Golden Dragon Kitchen Ltd）" in nora.body_text
    assert "被拒绝的步骤：许可决定。" in nora.body_text
    for message in sent:
        for text in (message.subject, message.body_text):
            assert "licensing_review" not in text
            assert app_id not in text  # the reference, never the id
        urls = LINK.findall(message.body_text)
        assert [urlsplit(u.rstrip(".。,")).path for u in urls] == [
            f"/backoffice/reviews/{review.id}"
        ]
        path = f"/backoffice/reviews/{review.id}"
        reader = {**as_persona(message.recipient_id), "Accept": "text/html"}
        page = await client.get(path, headers=reader)
        assert page.status_code == 200
        assert "govuk-template" in page.text
        assert review.reference in page.text
        signed_out = await client.get(path, headers={"Accept": "text/html"})
        assert signed_out.status_code == 303
        assert signed_out.headers["location"].startswith("/auth/login")


async def test_the_worker_sweep_sends_the_reminder_and_the_escalation_over_smtp_once(
    container: Container, runner: StepRunner, smtp: SmtpServer
) -> None:
    """Through the worker as deployed: its periodic SLA sweep and its outbox relay, to a real
    SMTP server. Nora and Grace are told of the review, then reminded; Grace (supervisor) is
    told it is overdue; Olivia, who refused, gets none of it."""
    app_id = await refused(container, runner, "rs-smtp")
    review = await ask_review(container, app_id, "Look again.")
    worker = notification_worker(container, smtp.port)
    await relay_all(worker)
    await relay_all(worker)  # the deliveries the first round planned
    box = smtp.mailbox
    assert [m["Subject"] for m in box.to(NORA)] == [
        f"Review asked for: {review.reference} (Open a restaurant)"
    ]
    now = container.clock.now()
    for when in ("remind_at", "due_at"):
        async with container.uow() as uow:  # set-up only: time passing
            row = await uow.session.get(ReviewRow, review.id)
            assert row is not None
            setattr(row, when, now - timedelta(minutes=1))
            await uow.commit()
        for _ in range(2):  # a second sweep finds nothing more to do
            await worker._sweep_slas()
            await relay_all(worker)
            await relay_all(worker)
    reminder = f"Reminder: the review of {review.reference} is due soon"
    overdue = f"Overdue: the review of {review.reference} was not answered in time"
    assert [m["Subject"] for m in box.to(NORA)][1:] == [reminder]
    assert [m["Subject"] for m in box.to(GRACE)][1:] == [reminder, overdue]
    assert box.to(OLIVIA) == []
    assert box.to(FELIX) == []


async def test_a_review_decided_before_its_email_is_planned_asks_nobody_to_act(
    container: Container, runner: StepRunner
) -> None:
    app_id = await refused(container, runner, "rs-decided")  # Olivia refused
    review, event = await _arrived(container, app_id)
    # Grace decides before the worker reaches the arrival event
    await decide(
        container,
        "grace",
        review.id,
        ReviewDecision.UPHOLD,
        "The parcel is residential in the current zoning plan",
    )
    planned = await plan_notifications(
        container, TemplateLibrary(Path("blueprints/templates")), event.payload
    )
    assert planned == 0
    async with container.uow() as uow:
        sent = list(
            await uow.session.scalars(
                select(DeliveryRow).where(DeliveryRow.source_key == event.payload["id"])
            )
        )
    assert sent == []
