"""Locale negotiation, localised formatting and the compiled catalogues (pure logic)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from starlette.requests import Request

from civicloom.kernel import LocalisedText
from civicloom.web.templating import (
    Templates,
    localise,
    negotiate_locale,
    normalise_locale,
    safe_local_path,
    translations_for,
)


def request(cookie: str | None = None, accept: str | None = None) -> Request:
    headers: list[tuple[bytes, bytes]] = []
    if cookie is not None:
        headers.append((b"cookie", f"civicloom_lang={cookie}".encode()))
    if accept is not None:
        headers.append((b"accept-language", accept.encode()))
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers})


@pytest.mark.parametrize(
    ("cookie", "accept", "expected"),
    [
        (None, None, "en"),
        (None, "zh-CN,zh;q=0.9,en;q=0.8", "zh-Hans"),
        (None, "fr-FR, en;q=0.5, zh;q=0.7", "zh-Hans"),
        (None, "zh-TW", "en"),
        ("zh-Hans", "en-GB", "zh-Hans"),
        ("en", "zh-CN", "en"),
        ("klingon", "zh", "zh-Hans"),
        (None, "en;q=bogus, zh;q=0.1", "zh-Hans"),
    ],
)
def test_negotiation(cookie: str | None, accept: str | None, expected: str) -> None:
    assert negotiate_locale(request(cookie, accept)) == expected


def test_normalise_locale() -> None:
    assert normalise_locale("zh_Hans") == "zh-Hans"
    assert normalise_locale("zh-Hant") is None
    assert normalise_locale("EN-us") == "en"
    assert normalise_locale("") is None


def test_localise_blueprint_texts() -> None:
    text = LocalisedText.model_validate({"en": "Open a restaurant", "zh-Hans": "开设餐馆"})
    assert localise(text, "zh-Hans") == "开设餐馆"
    assert localise({"en": "Fee", "zh-Hans": "费用"}, "en") == "Fee"
    assert localise({"en": "Fee"}, "zh-Hans") == "Fee"
    assert localise(None, "en") == ""


def test_safe_local_path_refuses_other_sites() -> None:
    assert safe_local_path("/services?q=x") == "/services?q=x"
    for bad in ("//evil.example", "https://evil.example", "/\\evil", None, ""):
        assert safe_local_path(bad) == "/"


def test_chinese_catalogue_translates_the_layout() -> None:
    assert translations_for("zh-Hans").gettext("Skip to main content") == "跳到主要内容"
    assert translations_for("en").gettext("Skip to main content") == "Skip to main content"


def test_filters_localise_money_and_dates() -> None:
    templates = Templates()
    zh = templates.environment("zh-Hans")
    en = templates.environment("en")
    when = datetime(2027, 3, 1, 9, 30, tzinfo=UTC)
    assert en.from_string("{{ d|date }}").render(d=when) == "1 March 2027"
    assert zh.from_string("{{ d|date }}").render(d=when) == "2027年3月1日"
    assert en.from_string("{{ 1250|money('EUR') }}").render() == "€1,250.00"
    assert zh.from_string("{{ 1250|money('CNY') }}").render() == "¥1,250.00"
    assert en.from_string("{{ '<b>'|localise }}").render() == "&lt;b&gt;"
