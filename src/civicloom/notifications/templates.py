"""Notification templates: per language, sandboxed Jinja2, versioned by content hash.

A template is ``<templates>/<name>.<locale>.j2``; its first line is ``Subject: …`` (or
``主题：…``). The HTML body is rendered with autoescaping; the plain-text body without (it is
never interpreted as markup). Both run in Jinja's sandbox: a template cannot reach Python.
"""

from __future__ import annotations

import hashlib
import html
from pathlib import Path
from typing import Any

from jinja2 import ChainableUndefined, FileSystemLoader
from jinja2.sandbox import SandboxedEnvironment

from civicloom.kernel import NotFound, one_line
from civicloom.notifications.domain import RenderedMessage

SUBJECT_PREFIXES = ("Subject:", "主题：", "主题:")
FALLBACK_LOCALE = "en"


class TemplateLibrary:
    """The templates under one directory (``blueprints/templates``)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        loader = FileSystemLoader(str(root))
        self._html = SandboxedEnvironment(
            loader=loader, autoescape=True, undefined=ChainableUndefined
        )
        self._text = SandboxedEnvironment(
            loader=loader, autoescape=False, undefined=ChainableUndefined
        )

    def resolve(self, name: str, locale: str) -> tuple[str, str]:
        """The file (relative name) and locale actually used, falling back to English."""
        for candidate in (locale, FALLBACK_LOCALE):
            relative = f"{name}.{candidate}.j2"
            if (self.root / relative).is_file():
                return relative, candidate
        raise NotFound(f"no template {name!r}")

    def exists(self, name: str) -> bool:
        """Whether any language of the template exists."""
        return any(self.root.glob(f"{name}.*.j2"))

    def render(self, name: str, locale: str, context: dict[str, Any]) -> RenderedMessage:
        """Render a template for one person in their language (or English)."""
        relative, used = self.resolve(name, locale)
        source = (self.root / relative).read_bytes()
        version = hashlib.sha256(source).hexdigest()[:12]
        text = self._text.get_template(relative).render(**context)
        marked = self._html.get_template(relative).render(**context)
        subject, body = _split(text)
        subject = one_line(subject)  # data rendered into it must not break the Subject header
        _, html_body = _split(marked)
        paragraphs = "".join(f"<p>{p.strip()}</p>" for p in html_body.split("\n\n") if p.strip())
        html_doc = (
            f'<!doctype html><html lang="{html.escape(used)}"><body>{paragraphs}</body></html>'
        )
        return RenderedMessage(name, version, used, subject, body.strip() + "\n", html_doc)


def _split(rendered: str) -> tuple[str, str]:
    first, _, rest = rendered.partition("\n")
    for prefix in SUBJECT_PREFIXES:
        if first.startswith(prefix):
            return first[len(prefix) :].strip(), rest
    return "", rendered
