"""Email over SMTP (aiosmtplib), or caught as .eml files for the embedded mail viewer."""

from __future__ import annotations

import os
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import aiosmtplib

from civicloom.notifications.domain import Outgoing, UndeliverableMessage


def build_email(message: Outgoing, sender: str) -> EmailMessage:
    """A multipart (text + HTML) email; the Message-ID derives from the delivery id.

    A subject or address no header can carry raises ``UndeliverableMessage``: retrying it
    cannot help, so the delivery fails at once.
    """
    mail = EmailMessage()
    try:
        mail["From"] = sender
        mail["To"] = message.address
        mail["Subject"] = message.subject
    except (ValueError, IndexError) as exc:
        raise UndeliverableMessage(f"the message cannot be written as an email: {exc}") from exc
    mail["Message-ID"] = make_msgid(idstring=message.id, domain="civicloom")
    mail["X-Civicloom-Delivery"] = message.id
    mail.set_content(message.body_text)
    mail.add_alternative(message.body_html, subtype="html")
    mail["Content-Language"] = message.locale  # after set_content, which drops Content-*
    return mail


class SmtpChannel:
    """Sends through an SMTP server."""

    provider = "email"

    def __init__(self, host: str, port: int, sender: str, starttls: bool = False) -> None:
        self.host, self.port, self.sender, self.starttls = host, port, sender, starttls

    async def send(self, message: Outgoing) -> str:
        """Send; an SMTP or connection error raises (the outbox retries)."""
        mail = build_email(message, self.sender)
        await aiosmtplib.send(
            mail, hostname=self.host, port=self.port, start_tls=self.starttls, timeout=10
        )
        return str(mail["Message-ID"])


class MailDropChannel:
    """Embedded profile: every email is written to ``<var_dir>/mail`` and shown at /dev/mail."""

    provider = "email"

    def __init__(self, directory: Path, sender: str) -> None:
        self.directory, self.sender = directory, sender

    async def send(self, message: Outgoing) -> str:
        """Write the message as ``<delivery id>.eml`` (atomically; a retry overwrites it)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        mail = build_email(message, self.sender)
        target = self.directory / f"{message.id}.eml"
        temporary = target.with_suffix(".tmp")
        temporary.write_bytes(bytes(mail))
        os.replace(temporary, target)
        return str(mail["Message-ID"])
