"""A real SMTP server (aiosmtpd) and a worker that relays the outbox to notifications."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from civicloom.notifications import HttpSmsChannel, SmtpChannel, build_dispatcher
from civicloom.notifications.ports import Channel
from civicloom.runtime import Container
from civicloom.worker import LogPublisher, Worker
from tests.wiring import reconfigure


@dataclass
class Mailbox:
    """What the SMTP server received."""

    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        raw = envelope.original_content or b""
        parsed = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        """Messages addressed to ``address``."""
        return [m for m in self.messages if m["To"] == address]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class SmtpServer:
    """An aiosmtpd server that can be stopped and started again on the same port."""

    port: int
    mailbox: Mailbox = field(default_factory=Mailbox)
    controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


def notification_worker(container: Container, port: int, **limits: Any) -> Worker:
    """A worker whose notification subscriber sends through the test SMTP server."""
    if limits:
        reconfigure(
            container,
            container.settings.model_copy(update={"notification_rate_per_minute": limits}),
        )
    channels: dict[str, Channel] = {
        "email": SmtpChannel("127.0.0.1", port, "civicloom <no-reply@civicloom.test>"),
        "sms": HttpSmsChannel("http://127.0.0.1:9"),
    }
    return Worker(container, LogPublisher(), subscribers=[build_dispatcher(container, channels)])


async def relay_all(worker: Worker, rounds: int = 10) -> int:
    """Relay the outbox until nothing is due now."""
    total = 0
    for _ in range(rounds):
        handled = await worker.relay_outbox()
        total += handled
        if handled == 0:
            return total
        await asyncio.sleep(0)
    return total
