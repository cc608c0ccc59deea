"""The embedded profile's mail viewer: every caught outgoing email (DEV ONLY).

Included only where mail is caught (never in production), answering only this machine, and only
to a signed-in operator (the dev login's operator persona): caught mail is citizens' mail.
"""

from __future__ import annotations

import html
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from civicloom.kernel import NotFound, PathId
from civicloom.notifications.runtime import mail_catcher_enabled
from civicloom.web import ContainerDep, loopback_only, page_roles

notifications_pages_router = APIRouter(include_in_schema=False)
_GUARDS = [page_roles("operator"), loopback_only()]
_HEAD = (
    "<!doctype html><html lang=en><head><meta charset=utf-8><title>{title}</title>"
    '<link rel="stylesheet" href="/static/civicloom.css"></head><body>'
    '<div role="alert" class="civicloom-dev-banner">DEVELOPMENT ONLY — caught mail, nothing '
    "here was sent. Never available in production.</div><main>"
)


def _caught(container: ContainerDep) -> list[tuple[str, EmailMessage]]:
    if not mail_catcher_enabled(container.settings):
        raise NotFound("the mail viewer exists only in the embedded and test profiles")
    folder = container.settings.var_dir / "mail"
    files = sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True)
    parser = BytesParser(policy=policy.default)
    return [(f.stem, parser.parsebytes(f.read_bytes())) for f in files[:200]]


def _header(mail: EmailMessage, name: str) -> str:
    """A header as text, or its raw value when it does not parse (never an error)."""
    try:
        return str(mail[name] or "")
    except Exception:
        raw = next((v for k, v in mail.raw_items() if k.lower() == name.lower()), "")
        return str(raw)


@notifications_pages_router.get(
    "/dev/mail", response_class=HTMLResponse, dependencies=_GUARDS, include_in_schema=False
)
async def mail_viewer(container: ContainerDep) -> HTMLResponse:
    """Embedded profile: every caught outgoing email, newest first (DEV ONLY)."""
    rows = "".join(
        f"<tr><td>{html.escape(_header(m, 'Date'))}</td><td>{html.escape(_header(m, 'To'))}</td>"
        f'<td><a href="/dev/mail/{html.escape(name)}">{html.escape(_header(m, "Subject"))}</a>'
        "</td></tr>"
        for name, m in _caught(container)
    )
    return HTMLResponse(
        _HEAD.format(title="Caught mail") + "<h1>Caught mail (development only)</h1>"
        "<p>Nothing here was sent: the embedded profile catches outgoing email.</p>"
        f"<table><tr><th>Date</th><th>To</th><th>Subject</th></tr>{rows}</table>"
        "</main></body></html>",
        headers={"Cache-Control": "no-store"},
    )


@notifications_pages_router.get(
    "/dev/mail/{message_id}",
    response_class=HTMLResponse,
    dependencies=_GUARDS,
    include_in_schema=False,
)
async def mail_message(message_id: PathId, container: ContainerDep) -> HTMLResponse:
    """One caught email, shown as plain text (DEV ONLY)."""
    for name, mail in _caught(container):
        if name == message_id:
            body = mail.get_body(preferencelist=("plain",))
            text = body.get_content() if body is not None else ""
            return HTMLResponse(
                _HEAD.format(title="Mail") + f"<h1>{html.escape(_header(mail, 'Subject'))}</h1>"
                f"<p>To: {html.escape(_header(mail, 'To'))}</p><pre>{html.escape(text)}</pre>"
                '<p><a href="/dev/mail">All caught mail</a></p></main></body></html>',
                headers={"Cache-Control": "no-store"},
            )
    raise NotFound("no such caught mail")
