"""Every event type has a consumer that really handles it, in the worker the platform builds."""

from __future__ import annotations

from pathlib import Path

import pytest

from civicloom.bootstrap import build_worker
from civicloom.outbox import EVENTS, EXCHANGE, NOTIFICATIONS, Consumer, EventType
from civicloom.settings import Profile, Settings
from civicloom.worker import Worker
from civicloom.worker.loop import INTERNAL_PREFIX


@pytest.fixture
def worker(tmp_path: Path) -> Worker:
    """The worker ``civicloom worker`` runs (nothing connects until it starts)."""
    return build_worker(
        Settings(
            profile=Profile.TEST,
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}",
            var_dir=tmp_path / "var",
        )
    )


def consumers_of(worker: Worker) -> dict[str, Consumer]:
    """The worker's subscribers by name; each declares the event types it handles."""
    found: dict[str, Consumer] = {}
    for subscriber in worker.subscribers:
        assert isinstance(subscriber, Consumer), f"{subscriber!r} does not declare what it handles"
        found[subscriber.name] = subscriber
    return found


def handled_by(worker: Worker, consumer: str, event: EventType) -> bool:
    """Whether the named consumer of this worker really handles the event."""
    if consumer == EXCHANGE:  # the worker publishes every non-internal topic to the exchange
        return worker.publisher is not None and not event.value.startswith(INTERNAL_PREFIX)
    registered = consumers_of(worker).get(consumer)
    return registered is not None and event in registered.handles


def test_the_table_lists_every_event_type_once() -> None:
    assert set(EVENTS) == set(EventType)


def test_every_event_type_has_a_registered_consumer_that_handles_it(worker: Worker) -> None:
    unhandled = {
        event.value: consumer
        for event, route in EVENTS.items()
        for consumer in route.consumers
        if not handled_by(worker, consumer, event)
    }
    assert unhandled == {}
    assert all(route.consumers for route in EVENTS.values())


def test_what_a_consumer_handles_is_declared_in_the_table(worker: Worker) -> None:
    for name, consumer in consumers_of(worker).items():
        declared = {event for event, route in EVENTS.items() if name in route.consumers}
        assert set(consumer.handles) == declared, name


def test_the_notify_step_event_is_sent_by_notifications(worker: Worker) -> None:
    notifications = consumers_of(worker)[NOTIFICATIONS]
    assert EventType.NOTIFICATION_REQUESTED in notifications.handles
    assert EventType.NOTIFICATION_DELIVER in notifications.handles
    assert EXCHANGE not in EVENTS[EventType.NOTIFICATION_DELIVER].consumers


def test_event_type_values_are_the_stored_topics() -> None:
    assert EventType.NOTIFICATION_REQUESTED.value == "civicloom.notification.requested"
    assert EventType.APPLICATION_SUBMITTED.value == "civicloom.application.submitted"
    assert EventType.NOTIFICATION_DELIVER.value == "internal.notification.deliver"
    assert EventType.NOTIFICATION_DELIVER.internal
    assert not EventType.LICENCE_ISSUED.internal
