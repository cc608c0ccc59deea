"""The embedded profile's mail viewer: every caught outgoing email (DEV ONLY)."""

from __future__ import annotations

import html
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from civicloom.kernel import NotFound
from civicloom.notifications.runtime import mail_catcher_enabled
from civicloom.web import ContainerDep, public_route

notifications_pages_router = APIRouter(include_in_schema=False)


def _caught(container: ContainerDep) -> list[tuple[str, EmailMessage]]:
    if not mail_catcher_enabled(container.settings):
        raise NotFound("the mail viewer exists only in the embedded and test profiles")
    folder = container.settings.var_dir / "mail"
    files = sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True)
    parser = BytesParser(policy=policy.default)
    return [(f.stem, parser.parsebytes(f.read_bytes())) for f in files[:200]]


@notifications_pages_router.get(
    "/dev/mail",
    response_class=HTMLResponse,
    dependencies=[public_route()],
    include_in_schema=False,
)
async def mail_viewer(container: ContainerDep) -> HTMLResponse:
    """Embedded profile: every caught outgoing email, newest first (DEV ONLY)."""
    rows = "".join(
        f"<tr><td>{html.escape(str(m['Date'] or ''))}</td><td>{html.escape(str(m['To']))}</td>"
        f'<td><a href="/dev/mail/{html.escape(name)}">{html.escape(str(m["Subject"]))}</a>'
        "</td></tr>"
        for name, m in _caught(container)
    )
    return HTMLResponse(
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>Caught mail</title>"
        "</head><body><main><h1>Caught mail (development only)</h1>"
        "<p>Nothing here was sent: the embedded profile catches outgoing email.</p>"
        f"<table><tr><th>Date</th><th>To</th><th>Subject</th></tr>{rows}</table>"
        "</main></body></html>"
    )


@notifications_pages_router.get(
    "/dev/mail/{message_id}",
    response_class=HTMLResponse,
    dependencies=[public_route()],
    include_in_schema=False,
)
async def mail_message(message_id: str, container: ContainerDep) -> HTMLResponse:
    """One caught email, shown as plain text (DEV ONLY)."""
    for name, mail in _caught(container):
        if name == message_id:
            body = mail.get_body(preferencelist=("plain",))
            text = body.get_content() if body is not None else ""
            return HTMLResponse(
                "<!doctype html><html lang=en><head><meta charset=utf-8><title>Mail</title>"
                f"</head><body><main><h1>{html.escape(str(mail['Subject']))}</h1>"
                f"<p>To: {html.escape(str(mail['To']))}</p><pre>{html.escape(text)}</pre>"
                '<p><a href="/dev/mail">All caught mail</a></p></main></body></html>'
            )
    raise NotFound("no such caught mail")
