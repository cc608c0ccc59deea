"""The data-ownership catalogue: who owns each piece of data, what kind it is, why it is held
and how long it is kept (ADR 0050).

One typed reading of what is otherwise scattered through the YAML:

- a **form field** declares ``x-owner``, ``x-data-class``, ``x-legal-basis`` and
  ``x-retention`` in the blueprint's JSON Schema (or in ``form.ui.fields``);
- a **document type** (``documents[]``, and the issued ``outputs.certificate``) declares
  ``owner``, ``data_class``, ``legal_basis`` and ``retention``;
- a **register field** is declared in ``blueprints/data-catalogue.yaml`` with its register,
  which also says how long portal drafts are kept (``registercatalogue.py``).

Retention is an ISO 8601 period (``P6Y``, ``P18M``, ``P30D``). For form data and documents it
runs from the day the application closed; for drafts from the last change; for register fields
it is the owning department's own keeping (the platform reads a register, never copies it).
Publishing refuses a blueprint with an undeclared field (``ownership_problems``); agreements
may share only catalogued register fields (``registercatalogue.catalogued_register_fields``).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from civicloom.catalogue.spec import CERTIFICATE_TYPE, Blueprint
from civicloom.kernel import FieldError, LocalisedText, ValidationFailed

_PERIOD = re.compile(r"^P(?:(?P<y>[0-9]{1,3})Y)?(?:(?P<m>[0-9]{1,4})M)?(?:(?P<d>[0-9]{1,5})D)?$")


class DataClass(StrEnum):
    """What kind of data a field holds (personal data as the data-protection law names it)."""

    NONE = "none"  # no information about a person or a business
    BUSINESS = "business"  # about a business (not personal data)
    PERSONAL = "personal"  # about an identified or identifiable person
    SPECIAL_CATEGORY = "special-category"  # health, ethnicity, beliefs, … (stricter basis)


@dataclass(frozen=True)
class Retention:
    """A retention period: years, months and days, added in that order (calendar arithmetic)."""

    years: int = 0
    months: int = 0
    days: int = 0

    @classmethod
    def parse(cls, text: str) -> Retention:
        """``P6Y``, ``P1Y6M``, ``P30D``…; ValueError for anything else (or a zero period)."""
        match = _PERIOD.fullmatch(text.strip()) if isinstance(text, str) else None
        if match is None or text.strip() == "P":
            raise ValueError(
                f"{text!r} is not a retention period: write an ISO 8601 period such as "
                "P6Y, P18M or P30D"
            )
        period = cls(int(match["y"] or 0), int(match["m"] or 0), int(match["d"] or 0))
        if period == cls():
            raise ValueError(f"{text!r} is zero: a retention period is at least one day")
        return period

    @property
    def text(self) -> str:
        """The ISO 8601 form (``P6Y``)."""
        return "P" + "".join(
            f"{n}{unit}" for n, unit in ((self.years, "Y"), (self.months, "M"), (self.days, "D"))
            if n
        )  # fmt: skip

    def after(self, start: datetime) -> datetime:
        """When a period that began at ``start`` ends (the 31st becomes the month's last day)."""
        months = start.month - 1 + self.months + 12 * self.years
        year, month = start.year + months // 12, months % 12 + 1
        day = min(start.day, calendar.monthrange(year, month)[1])
        return start.replace(year=year, month=month, day=day) + timedelta(days=self.days)

    def started_before(self, now: datetime) -> datetime:
        """The latest start whose period has ended by ``now`` (a lower bound for a query)."""
        months = now.month - 1 - self.months - 12 * self.years
        year, month = now.year + months // 12, months % 12 + 1
        day = min(now.day, calendar.monthrange(year, month)[1])
        return now.replace(year=year, month=month, day=day) - timedelta(days=self.days)


@dataclass(frozen=True)
class Ownership:
    """The four things every catalogued piece of data declares."""

    owner: str
    data_class: DataClass
    legal_basis: str
    retention: Retention


class EntryKind(StrEnum):
    """Where a catalogued piece of data lives."""

    FORM_FIELD = "form-field"
    DOCUMENT = "document"
    REGISTER_FIELD = "register-field"


class RetentionStart(StrEnum):
    """From when a retention period runs."""

    APPLICATION_CLOSED = "application-closed"  # form answers and uploaded documents
    VALIDITY_ENDED = "validity-ended"  # an issued licence
    RECORD_ENDED = "record-ended"  # a register record, kept by its department
    LAST_CHANGE = "last-change"  # a draft


@dataclass(frozen=True)
class DataCatalogueEntry:
    """One line of the public catalogue: a field or document type, and its ownership."""

    kind: EntryKind
    scope: str  # a service id, or a register's capability id
    scope_title: LocalisedText
    name: str
    title: LocalisedText
    ownership: Ownership
    counted_from: RetentionStart


@dataclass(frozen=True)
class OwnershipProblem:
    """A missing or wrong declaration: where, which rule, and why."""

    path: str
    rule: str
    message: str


# -- blueprints --------------------------------------------------------------------------------

_Keys = tuple[tuple[str, str, str], ...]
_FIELD_KEYS: _Keys = (
    ("x-owner", "owner-required", "owner department"),
    ("x-data-class", "data-class-required", "personal-data class"),
    ("x-legal-basis", "legal-basis-required", "legal basis"),
    ("x-retention", "retention-required", "retention period"),
)
_DOCUMENT_KEYS: _Keys = tuple(
    (key[2:].replace("-", "_"), rule, what) for key, rule, what in _FIELD_KEYS
)


def _field_meta(spec: Blueprint, name: str) -> dict[str, Any]:
    prop = (spec.form.json_schema.get("properties") or {}).get(name) or {}
    ui = ((spec.form.ui.get("fields") or {}).get(name)) or {}
    return {k: v for k, v in {**ui, **prop}.items() if str(k).startswith("x-")}


def _read(
    declared: dict[str, Any], keys: tuple[tuple[str, str, str], ...], what: str, path: str
) -> tuple[Ownership | None, list[OwnershipProblem]]:
    """One declaration read against its four keys: the ownership, or what is wrong with it."""
    problems: list[OwnershipProblem] = []
    values: list[Any] = []
    for key, rule, label in keys:
        value = declared.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            problems.append(
                OwnershipProblem(f"{path}.{key}", rule, f"{what} declares no {label} ({key})")
            )
        values.append(value)
    owner, data_class, basis, retention = values
    klass: DataClass | None = None
    if data_class is not None:
        try:
            klass = DataClass(str(data_class))
        except ValueError:
            allowed = ", ".join(c.value for c in DataClass)
            problems.append(
                OwnershipProblem(
                    f"{path}.{keys[1][0]}",
                    "bad-data-class",
                    f"{what}: {data_class!r} is not a data class ({allowed})",
                )
            )
    period: Retention | None = None
    if retention is not None:
        try:
            period = Retention.parse(str(retention))
        except ValueError as exc:
            problems.append(OwnershipProblem(f"{path}.{keys[3][0]}", "bad-retention", str(exc)))
    if basis is not None and len(str(basis).strip()) < 3:
        problems.append(
            OwnershipProblem(f"{path}.{keys[2][0]}", "legal-basis-required", f"{what}: too short")
        )
    if problems or klass is None or period is None:
        return None, problems
    return Ownership(str(owner), klass, str(basis).strip(), period), []


def form_field_ownership(
    spec: Blueprint, name: str
) -> tuple[Ownership | None, list[OwnershipProblem]]:
    """A form field's declared ownership, or what is missing."""
    return _read(
        _field_meta(spec, name), _FIELD_KEYS, f"field {name!r}", f"form.schema.properties.{name}"
    )


def _document_declarations(spec: Blueprint) -> list[tuple[str, str, dict[str, Any], str]]:
    """(type, path, declared keys, what) for every document type of the blueprint."""
    found = [
        (d.type, f"documents[{i}]", d.model_dump(), f"document type {d.type!r}")
        for i, d in enumerate(spec.documents)
    ]
    if spec.outputs.certificate is not None:
        cert = spec.outputs.certificate
        found.append(
            (
                CERTIFICATE_TYPE,
                "outputs.certificate",
                cert.model_dump(),
                f"document type {CERTIFICATE_TYPE!r}",
            )
        )
    return found


def ownership_problems(spec: Blueprint, departments: frozenset[str]) -> list[OwnershipProblem]:
    """Every form field and document type without a complete, known-owner declaration."""
    problems: list[OwnershipProblem] = []
    declarations = [
        (_field_meta(spec, name), _FIELD_KEYS, f"field {name!r}", f"form.schema.properties.{name}")
        for name in spec.form.fields
    ]
    declarations += [
        (declared, _DOCUMENT_KEYS, what, path)
        for _, path, declared, what in _document_declarations(spec)
    ]
    for declared, keys, what, path in declarations:
        problems += _read(declared, keys, what, path)[1]
        owner = declared.get(keys[0][0])
        if owner is not None and str(owner) not in departments:
            problems.append(
                OwnershipProblem(
                    f"{path}.{keys[0][0]}", "unknown-department", f"{what}: no department {owner!r}"
                )
            )
    return problems


def require_ownership(spec: Blueprint, departments: frozenset[str]) -> None:
    """Refuse (422, naming each field and rule) a blueprint whose data is not all declared."""
    problems = ownership_problems(spec, departments)
    if problems:
        raise ValidationFailed(
            [FieldError(p.path, p.rule, p.message) for p in problems],
            f"{spec.id} v{spec.version} declares no owner, data class, legal basis or "
            "retention for some of its data (docs/how-to/declare-data-ownership.md)",
        )


def field_retentions(spec: Blueprint) -> dict[str, Retention]:
    """Each form field's retention, where declared (the purge keeps an undeclared field)."""
    found: dict[str, Retention] = {}
    for name in spec.form.fields:
        owned, _ = form_field_ownership(spec, name)
        if owned is not None:
            found[name] = owned.retention
    return found


def document_retentions(spec: Blueprint) -> dict[str, Retention]:
    """Each document type's retention, where declared."""
    found: dict[str, Retention] = {}
    for doc_type, path, declared, what in _document_declarations(spec):
        owned, _ = _read(declared, _DOCUMENT_KEYS, what, path)
        if owned is not None:
            found[doc_type] = owned.retention
    return found


def _text(raw: Any, fallback: str) -> LocalisedText:
    """A declared title in both languages; the plain title where one is missing."""
    try:
        return LocalisedText.model_validate(raw)
    except ValidationError:
        return LocalisedText(en=fallback, zh_hans=fallback)


def blueprint_entries(spec: Blueprint) -> list[DataCatalogueEntry]:
    """The catalogue lines of one blueprint: its form fields, then its document types."""
    entries: list[DataCatalogueEntry] = []
    for name, prop in spec.form.fields.items():
        owned, _ = form_field_ownership(spec, name)
        if owned is None:
            continue
        title = _text((prop or {}).get("x-title"), str((prop or {}).get("title") or name))
        entries.append(
            DataCatalogueEntry(
                EntryKind.FORM_FIELD,
                spec.id,
                spec.title,
                name,
                title,
                owned,
                RetentionStart.APPLICATION_CLOSED,
            )
        )
    for doc_type, path, declared, what in _document_declarations(spec):
        owned, _ = _read(declared, _DOCUMENT_KEYS, what, path)
        if owned is None:
            continue
        entries.append(
            DataCatalogueEntry(
                EntryKind.DOCUMENT,
                spec.id,
                spec.title,
                doc_type,
                _text(declared.get("title"), doc_type),
                owned,
                RetentionStart.VALIDITY_ENDED
                if doc_type == CERTIFICATE_TYPE
                else RetentionStart.APPLICATION_CLOSED,
            )
        )
    return entries
