"""Server-rendered pages: one Jinja2 environment per locale, GOV.UK Frontend macros, Babel i18n.

Any module renders a page with ``Templates([its templates dir]).render(request, "x.html", ...)``
(docs/how-to/build-a-page.md). Pages extend ``base.html`` (our branding, language switcher,
skip link, phase banner). The locale comes from the ``civicloom_lang`` cookie, else the
browser's ``Accept-Language``; English and Simplified Chinese are supported.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal
from babel.support import NullTranslations, Translations
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse
from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    PrefixLoader,
    StrictUndefined,
    select_autoescape,
)
from starlette.staticfiles import StaticFiles

from civicloom.identity import RoutePolicy
from civicloom.kernel import LocalisedText
from civicloom.observability import get_logger
from civicloom.settings import PROJECT_ROOT
from civicloom.web.csrf import csrf_input, csrf_query, csrf_token
from civicloom.web.deps import Guard, Unauthenticated, enforce

log = get_logger(__name__)

LOCALES = ("en", "zh-Hans")
DEFAULT_LOCALE = "en"
LOCALE_COOKIE = "civicloom_lang"
LOCALE_NAMES = {"en": "English", "zh-Hans": "简体中文"}
_BABEL_LOCALE = {"en": "en_GB", "zh-Hans": "zh_Hans_CN"}
_CATALOGUE = {"en": "en", "zh-Hans": "zh_Hans"}
WEB_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"
TRANSLATIONS_DIR = WEB_DIR.parent / "translations"
NODE_MODULES = PROJECT_ROOT / "node_modules"


def normalise_locale(value: str | None) -> str | None:
    """Map a language tag (``zh``, ``zh-CN``, ``zh_Hans``, ``en-GB``) to a supported locale."""
    if not value:
        return None
    tag = value.strip().replace("_", "-").lower()
    if tag.startswith("zh"):
        return "zh-Hans" if "hant" not in tag and tag not in ("zh-tw", "zh-hk") else None
    if tag.startswith("en"):
        return "en"
    return None


def negotiate_locale(request: Request) -> str:
    """The page's locale: the language cookie, else the best ``Accept-Language`` match."""
    chosen = normalise_locale(request.cookies.get(LOCALE_COOKIE))
    if chosen:
        return chosen
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(request.headers.get("accept-language", "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        locale = normalise_locale(tag)
        if locale and quality > 0:
            weighted.append((-quality, index, locale))
    return sorted(weighted)[0][2] if weighted else DEFAULT_LOCALE


@cache
def translations_for(locale: str) -> NullTranslations:
    """The compiled catalogue of a locale (``make translations``), else compiled from the .po."""
    folder = TRANSLATIONS_DIR / _CATALOGUE[locale] / "LC_MESSAGES"
    mo, po = folder / "messages.mo", folder / "messages.po"
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as handle:
            return Translations(handle, domain="messages")
    if po.exists():
        # A source checkout without `make`: compile in memory so pages are never half-translated.
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=_CATALOGUE[locale])
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        return Translations(buffer, domain="messages")
    log.warning("translations_missing", locale=locale)
    return NullTranslations()


def localise(value: Any, locale: str) -> str:
    """A blueprint text (``LocalisedText``, ``{"en": .., "zh-Hans": ..}`` or str) in a locale."""
    if value is None:
        return ""
    if isinstance(value, LocalisedText):
        return value.get(locale)
    if isinstance(value, Mapping):
        return str(value.get(locale) or value.get("en") or next(iter(value.values()), ""))
    return str(value)


def _money(amount: Any, currency: str, locale: str) -> str:
    return format_currency(Decimal(str(amount)), currency, locale=_BABEL_LOCALE[locale])


def _date(value: date | datetime | str | None, locale: str, fmt: str = "long") -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        value = value.date()
    return format_date(value, format=fmt, locale=_BABEL_LOCALE[locale])


def _datetime(value: datetime | None, locale: str, fmt: str = "medium") -> str:
    if value is None:
        return ""
    return format_datetime(value, format=fmt, locale=_BABEL_LOCALE[locale])


def _number(value: Any, locale: str) -> str:
    return format_decimal(value, locale=_BABEL_LOCALE[locale])


def build_environment(locale: str, template_dirs: Sequence[Path] = ()) -> Environment:
    """A Jinja2 environment for one locale: module templates, ``web/templates``, GOV.UK macros."""
    env = Environment(
        loader=ChoiceLoader(
            [
                FileSystemLoader([*template_dirs, TEMPLATES_DIR]),
                PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
            ]
        ),
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations_for(locale), newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(
        locale=locale,
        html_lang=locale,
        locales=LOCALES,
        locale_names=LOCALE_NAMES,
        csrf_input=csrf_input,
        csrf_token=csrf_token,
        csrf_query=csrf_query,
        development_surfaces=development_surfaces,
        language_url=language_url,
    )
    env.filters.update(
        localise=lambda value: localise(value, locale),
        money=lambda amount, currency="EUR": _money(amount, currency, locale),
        date=lambda value, fmt="long": _date(value, locale, fmt),
        datetime=lambda value, fmt="medium": _datetime(value, locale, fmt),
        number=lambda value: _number(value, locale),
    )
    return env


class Templates:
    """Renders pages of one module in the caller's locale (one environment per locale)."""

    def __init__(self, template_dirs: Sequence[Path] = (), strict: bool = False) -> None:
        self.environments = {locale: build_environment(locale, template_dirs) for locale in LOCALES}
        if strict:
            for env in self.environments.values():
                env.undefined = StrictUndefined

    def environment(self, locale: str) -> Environment:
        """The environment of a supported locale."""
        return self.environments[locale]

    def gettext(self, request: Request, message: str) -> str:
        """Translate a message for the request's locale (for flash messages built in Python)."""
        return translations_for(negotiate_locale(request)).gettext(message)

    def render_string(self, request: Request, name: str, **context: Any) -> str:
        """The rendered template as a string."""
        locale = negotiate_locale(request)
        template = self.environments[locale].get_template(name)
        return template.render(request=request, current_path=_current_path(request), **context)

    def render(
        self,
        request: Request,
        name: str,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        **context: Any,
    ) -> HTMLResponse:
        """An HTML response; pages are personal, so they are never cached by intermediaries."""
        body = self.render_string(request, name, **context)
        response = HTMLResponse(body, status_code=status_code, headers=dict(headers or {}))
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers["Content-Language"] = negotiate_locale(request)
        return response


def _current_path(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def safe_local_path(value: str | None, default: str = "/") -> str:
    """Only same-site relative paths are followed (no open redirect)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default


def development_surfaces(request: Request) -> bool:
    """Whether this deployment has development surfaces (dev login, caught mail): every page
    then carries a banner saying so."""
    container = getattr(request.app.state, "container", None) if "app" in request.scope else None
    settings = getattr(container, "settings", None)
    return bool(settings is not None and settings.dev_login_enabled)


def language_url(locale: str, current_path: str) -> str:
    """The switcher link to a locale that comes back to the current page."""
    return f"/language/{locale}?next={quote(current_path, safe='')}"


class _LayeredStatic(StaticFiles):
    """Static files looked up in several directories in order (ours, then vendored ones)."""

    def __init__(self, directories: Sequence[Path]) -> None:
        super().__init__(directory=directories[0], check_dir=False)
        self.all_directories = [d for d in directories if d.is_dir()]


def install_web_ui(app: FastAPI, node_modules: Path = NODE_MODULES) -> None:
    """Static files (GOV.UK Frontend at ``/assets``: its CSS hard-codes that path; ours + htmx at
    ``/static``; Swagger UI at ``/api-docs``); the language switcher route is
    ``civicloom.web.pages.language_router``, the API docs page ``api_docs_router``."""
    app.mount(
        "/assets",
        StaticFiles(directory=node_modules / "govuk-frontend/dist/govuk", check_dir=False),
        name="assets",
    )
    app.mount(
        "/static",
        _LayeredStatic([STATIC_DIR, node_modules / "htmx.org/dist"]),
        name="static",
    )
    # Swagger UI for /api/v1/docs (web/pages.py), from npm: no CDN (ADR 0035).
    app.mount(
        "/api-docs",
        StaticFiles(directory=node_modules / "swagger-ui-dist", check_dir=False),
        name="api-docs",
    )


class _PageGuard(Guard):
    """A route guard for pages: a browser that is not signed in is sent to sign in and back.

    Other clients (no ``text/html`` in ``Accept``) get the usual 401 problem.
    """

    async def __call__(self, request: Request) -> None:
        """Enforce the policy; redirect a signed-out browser to the sign-in page."""
        try:
            await enforce(self.policy, request)
        except Unauthenticated:
            if "text/html" not in request.headers.get("accept", ""):
                raise
            target = f"/auth/login?next={quote(_current_path(request), safe='')}"
            raise HTTPException(303, "sign in first", headers={"Location": target}) from None


def page_authenticated() -> Any:
    """``dependencies=[page_authenticated()]``: any person signed in; a browser that is not
    goes to the sign-in page (``authenticated()`` answers 401, as an API does)."""
    return Depends(_PageGuard(RoutePolicy()))


def page_roles(
    *roles: str, conceal: bool = False, owner_scoped: bool = False, rate_limit: str | None = None
) -> Any:
    """``dependencies=[page_roles("citizen", ...)]``: like ``require_roles`` for HTML pages."""
    policy = RoutePolicy(
        roles=frozenset(roles), conceal=conceal, owner_scoped=owner_scoped, rate_limit=rate_limit
    )
    return Depends(_PageGuard(policy))
