"""Forms generated from a blueprint: pages of typed fields from its JSON Schema and UI hints.

Pure logic (no I/O): ``form_pages`` builds the pages, ``parse_page`` turns posted strings into
typed answers with GOV.UK-style error messages, ``page_errors`` keeps the schema errors that
belong to one page. Labels come from ``ui.fields.<name>.label`` or ``x-title`` ({en, zh-Hans})
when the blueprint provides them, else the schema's ``title``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from civicloom.catalogue import Blueprint
from civicloom.kernel import FieldError, TextKind, parse_ascii_number, text_problem

Translate = Callable[[str], str]
RADIO_LIMIT = 5  # more options than this are shown as a select


def _text(value: Any, locale: str) -> str:
    if isinstance(value, Mapping):
        return str(value.get(locale) or value.get("en") or "")
    return "" if value is None else str(value)


@dataclass(frozen=True)
class Option:
    """One choice of a radio, select or checkbox field."""

    value: str
    label: str


@dataclass(frozen=True)
class FormField:
    """A question on a form page."""

    name: str
    label: str
    widget: str  # text, email, number, date, textarea, radios, select, checkboxes, yesno
    required: bool
    hint: str = ""
    options: tuple[Option, ...] = ()
    schema: Mapping[str, Any] = field(default_factory=dict)
    prefill_capability: str | None = None

    @property
    def input_id(self) -> str:
        """The id of the element an error summary links to."""
        if self.widget == "date":
            return f"{self.name}-day"
        return self.name


@dataclass(frozen=True)
class FormPage:
    """One page of the form."""

    id: str
    title: str
    help: str
    fields: tuple[FormField, ...]


def _widget(name: str, schema: Mapping[str, Any], ui: Mapping[str, Any]) -> str:
    if ui.get("widget"):
        return str(ui["widget"])
    kind = schema.get("type")
    if kind == "boolean":
        return "yesno"
    if kind in ("integer", "number"):
        return "number"
    if kind == "array":
        return "checkboxes"
    if "enum" in schema:
        return "radios" if len(schema["enum"]) <= RADIO_LIMIT else "select"
    if schema.get("format") == "date":
        return "date"
    if schema.get("format") == "email":
        return "email"
    if name.endswith("address") and int(schema.get("maxLength", 0)) > 100:
        return "textarea"
    return "text"


def _options(schema: Mapping[str, Any], ui: Mapping[str, Any], locale: str) -> tuple[Option, ...]:
    values = schema.get("enum") or (schema.get("items") or {}).get("enum") or []
    labels = ui.get("options") or {}
    return tuple(
        Option(str(v), _text(labels.get(str(v)), locale) or str(v).replace("_", " ").capitalize())
        for v in values
    )


def form_pages(blueprint: Blueprint, locale: str) -> list[FormPage]:
    """The blueprint's form as pages (one page with every field when it declares none)."""
    schema = blueprint.form.json_schema
    properties: Mapping[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    ui = blueprint.form.ui
    hints: Mapping[str, Any] = ui.get("fields", {})
    declared = ui.get("pages") or [
        {"id": "answers", "title": blueprint.title.en, "fields": list(properties)}
    ]
    pages = []
    for page in declared:
        fields = []
        for name in page.get("fields", []):
            prop = properties.get(name)
            if prop is None:
                continue
            field_ui: Mapping[str, Any] = hints.get(name, {})
            label = _text(field_ui.get("label") or prop.get("x-title"), locale)
            fields.append(
                FormField(
                    name=name,
                    label=label or str(prop.get("title") or name.replace("_", " ").capitalize()),
                    widget=_widget(name, prop, field_ui),
                    required=name in required,
                    hint=_text(field_ui.get("hint") or prop.get("x-hint"), locale),
                    options=_options(prop, field_ui, locale),
                    schema=prop,
                    prefill_capability=(prop.get("x-prefill") or {}).get("capability"),
                )
            )
        pages.append(
            FormPage(
                id=str(page["id"]),
                title=_text(page.get("title"), locale) or str(page["id"]),
                help=_text(page.get("help"), locale),
                fields=tuple(fields),
            )
        )
    return pages


def _date(field_: FormField, form: Mapping[str, str], _: Translate) -> tuple[Any, str | None]:
    parts = [form.get(f"{field_.name}-{p}", "").strip() for p in ("day", "month", "year")]
    if not any(parts):
        return None, None
    if not all(p.isascii() and p.isdigit() for p in parts):
        return None, _("%(label)s must be a real date") % {"label": field_.label}
    day, month, year = (int(p) for p in parts)
    try:
        return date(year, month, day).isoformat(), None
    except ValueError:
        return None, _("%(label)s must be a real date") % {"label": field_.label}


def parse_field(field_: FormField, form: Mapping[str, Any], _: Translate) -> tuple[Any, str | None]:
    """One posted answer as a typed value (None when blank), or an error message."""
    if field_.widget == "date":
        return _date(field_, form, _)
    if field_.widget == "checkboxes":
        raw_list = form.get(field_.name) or []
        chosen = [raw_list] if isinstance(raw_list, str) else list(raw_list)
        allowed = {o.value for o in field_.options}
        if any(c not in allowed for c in chosen):
            return None, _("Select from the options shown")
        return (chosen or None), None
    raw = form.get(field_.name, "")
    value = raw.strip() if isinstance(raw, str) else ""
    if not value:
        return None, None
    kind = TextKind.TEXT if field_.widget == "textarea" else TextKind.LINE
    if text_problem(value, kind) is not None:
        return None, _("%(label)s must not contain control or hidden formatting characters") % {
            "label": field_.label
        }
    value = unicodedata.normalize("NFC", value)
    if field_.widget == "yesno":
        if value not in ("yes", "no"):
            return None, _("Select yes or no")
        return value == "yes", None
    if field_.widget == "number":
        integer = field_.schema.get("type") == "integer"
        number = parse_ascii_number(value, integer=integer)
        if number is None:
            if any(c.isdigit() or c.isnumeric() for c in value if not c.isascii()):
                message = _("%(label)s must be written with the digits 0 to 9")
            elif integer:
                message = _("%(label)s must be a whole number")
            else:
                message = _("%(label)s must be a number")
            return None, message % {"label": field_.label}
        return number, None
    if field_.options and value not in {o.value for o in field_.options}:
        return None, _("Select from the options shown")
    return value, None


def parse_page(
    page: FormPage, form: Mapping[str, Any], _: Translate
) -> tuple[dict[str, Any], dict[str, str]]:
    """The page's answers (None for blank) and the error message of each field that is wrong."""
    answers: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field_ in page.fields:
        value, error = parse_field(field_, form, _)
        answers[field_.name] = value
        if error:
            errors[field_.name] = error
        elif value is None and field_.required:
            errors[field_.name] = required_message(field_, _)
    return answers, errors


def required_message(field_: FormField, _: Translate) -> str:
    """The GOV.UK-style message for a missing answer."""
    if field_.widget == "yesno":  # the label is a statement: "A grease trap is installed"
        return _("Select yes if %(label)s") % {"label": field_.label[:1].lower() + field_.label[1:]}
    if field_.widget in ("radios", "select", "checkboxes"):
        return _("Select %(label)s") % {"label": field_.label.lower()}
    return _("Enter %(label)s") % {"label": field_.label.lower()}


def schema_message(field_: FormField, error: FieldError, _: Translate) -> str:
    """A schema rule broken by an answer, said plainly."""
    schema, label = field_.schema, field_.label
    messages = {
        "pattern": _("%(label)s is not in the right format") % {"label": label},
        "format": _("Enter an email address in the correct format, like name@example.org")
        if field_.widget == "email"
        else _("%(label)s is not in the right format") % {"label": label},
        "x-not-before": _("%(label)s must be today or in the future") % {"label": label},
        "minLength": _("%(label)s must be %(n)s characters or more")
        % {"label": label, "n": schema.get("minLength")},
        "maxLength": _("%(label)s must be %(n)s characters or fewer")
        % {"label": label, "n": schema.get("maxLength")},
        "minimum": _("%(label)s must be %(n)s or more")
        % {"label": label, "n": schema.get("minimum")},
        "maximum": _("%(label)s must be %(n)s or less")
        % {"label": label, "n": schema.get("maximum")},
        "required": required_message(field_, _),
        "enum": _("Select from the options shown"),
        # who may act for a business (ADR 0041): the business register decides
        "may-act-for": _(
            "You cannot apply for this business: the business register does not name you as "
            "its director, and no director has given you a mandate for this service"
        ),
        "registered-business": _("There is no business with this number in the business register"),
        "register-unavailable": _(
            "We could not check with the business register who may act for this business. "
            "Try again later"
        ),
    }
    hidden = _("%(label)s must not contain control or hidden formatting characters")
    for rule in ("unicode", "control-character", "bidi-control", "invisible-character"):
        messages[rule] = hidden % {"label": label}
    return messages.get(error.rule, _("%(label)s is not valid") % {"label": label})


def page_errors(
    page: FormPage, schema_errors: list[FieldError], _: Translate, *, include_required: bool
) -> dict[str, str]:
    """The schema errors about this page's fields (``required`` ones only when asked)."""
    by_name = {f.name: f for f in page.fields}
    found: dict[str, str] = {}
    for error in schema_errors:
        name = error.field.removeprefix("data.").split(".")[0]
        if name not in by_name or name in found:
            continue
        if error.rule == "required" and not include_required:
            continue
        found[name] = schema_message(by_name[name], error, _)
    return found


def display_value(field_: FormField, value: Any, _: Translate) -> str:
    """An answer as the "check your answers" page shows it (dates are localised by the template)."""
    if value is None or value == "" or value == []:
        return ""
    if field_.widget == "yesno":
        return _("Yes") if value else _("No")
    labels = {o.value: o.label for o in field_.options}
    if isinstance(value, list):
        return ", ".join(labels.get(str(v), str(v)) for v in value)
    return labels.get(str(value), str(value))
