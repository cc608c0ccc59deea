"""Templates (sandboxed, autoescaped HTML, language fallback, versions) and rate limits."""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja2.exceptions import SecurityError

from civicloom.notifications import TemplateLibrary

ROOT = Path(__file__).resolve().parents[3] / "blueprints" / "templates"


def test_language_fallback_subject_and_escaping(tmp_path: Path) -> None:
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "hello.en.j2").write_text("Subject: Hi {{ name }}\n\nDear {{ name }}\n")
    library = TemplateLibrary(tmp_path)
    message = library.render("t/hello", "zh-Hans", {"name": "<Ann>"})
    assert message.locale == "en"
    assert message.subject == "Hi <Ann>"
    assert "Dear <Ann>" in message.text
    assert "&lt;Ann&gt;" in message.html
    assert len(message.version) == 12


def test_the_sandbox_refuses_python_internals(tmp_path: Path) -> None:
    (tmp_path / "evil.en.j2").write_text(
        "Subject: x\n{{ ''.__class__.__mro__[1].__subclasses__() }}"
    )
    with pytest.raises(SecurityError):
        TemplateLibrary(tmp_path).render("evil", "en", {})


def test_every_shipped_template_renders_in_both_languages() -> None:
    library = TemplateLibrary(ROOT)
    for path in sorted(ROOT.rglob("*.en.j2")):
        name = str(path.relative_to(ROOT)).removesuffix(".en.j2")
        for locale in ("en", "zh-Hans"):
            message = library.render(name, locale, {"reference": "RST-1"})
            assert message.locale == locale, name
            assert message.text.strip(), name
