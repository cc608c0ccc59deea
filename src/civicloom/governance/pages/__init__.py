"""Back-office pages of change requests (ADR 0049): the list and a new draft, one change
(its editors while a draft, the semantic diff, the checks with the what-if, approvals), and a
service's change history. Every state change is a use case in ``services.py``."""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import yaml
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from civicloom.governance.artifacts import LANGUAGES, Workspace
from civicloom.governance.domain import (
    AUTHOR_ROLES,
    QUALITY_GATE,
    RULE_OWNER,
    ChangeKind,
    ChangeRequest,
    ChangeState,
)
from civicloom.governance.editing import (
    model_for_edit,
    rule_rows,
    set_form_field,
    set_rule_cell,
    set_step_sla,
    set_template_text,
)
from civicloom.governance.queries import (
    get_change,
    list_changes,
    pinned_applications,
    service_history,
)
from civicloom.governance.services import (
    NotAllowed,
    approve_change,
    draft_change,
    edit_draft,
    may_author,
    parties_of,
    preview_change,
    submit_change,
    withdraw_change,
)
from civicloom.kernel import Conflict, NotFound, PathId, Principal, ValidationFailed
from civicloom.notifications import TemplateLibrary
from civicloom.rules import RULE_BOOK
from civicloom.runtime import Container
from civicloom.web import (
    ContainerDep,
    CurrentPrincipal,
    Templates,
    error_list,
    large_body,
    localise,
    negotiate_locale,
    page_gettext,
    page_roles,
    render_page,
    see_other,
)

templates = Templates([Path(__file__).parent.parent / "templates"])
governance_pages_router = APIRouter(include_in_schema=False)
GOVERNANCE_ROLES = ("service-owner", RULE_OWNER, QUALITY_GATE)
GOVERNANCE_PAGE = page_roles(*GOVERNANCE_ROLES)
MAX_UPLOAD = 512 * 1024
SAMPLE = {
    "reference": "RST-2027-000123",
    "data": {"business_name": "Golden Dragon Kitchen Ltd", "contact_email": "alice@example.org"},
    "status_url": "https://example.org/applications/RST-2027-000123",
    "legal_deadline_working_days": 20,
    "deadline": "2027-03-01",
    "amount": "400",
    "currency": "EUR",
}


def workspace_of(container: Container) -> Workspace:
    """The process's workspace: blueprints directory and rule book."""
    return Workspace(container.settings.blueprints_dir, container.get(RULE_BOOK))


def _nav(request: Request, principal: Principal) -> list[dict[str, Any]]:
    _ = page_gettext(request)
    return [{"href": "/backoffice/changes", "text": _("Change requests"), "active": True}]


def _page(
    request: Request, name: str, principal: Principal, status_code: int = 200, **context: Any
) -> HTMLResponse:
    return render_page(
        templates, request, name, principal, _nav(request, principal), status_code, **context
    )


def _targets(ws: Workspace) -> list[tuple[str, str]]:
    """(kind, target) pairs one can draft a change to."""
    root = ws.blueprints_dir
    found = [
        (ChangeKind.BLUEPRINT.value, p.parent.name)
        for p in sorted(root.glob("services/*/blueprint.yaml"))
    ]
    found += [(ChangeKind.DECISION_MODEL.value, key) for key in list(ws.book.keys())]
    found += sorted(
        {
            (ChangeKind.TEMPLATE.value, str(p.relative_to(root / "templates")).rsplit(".", 2)[0])
            for p in root.glob("templates/*/*.j2")
        }
    )
    found += [(ChangeKind.AGREEMENT.value, p.stem) for p in sorted(root.glob("agreements/*.yaml"))]
    found += [(ChangeKind.TARIFF.value, p.stem) for p in sorted(root.glob("tariffs/*.yaml"))]
    return found


def _template_words(
    root: Path, target: str, locale: str, services: dict[str, str], every: str
) -> str:
    """A notification template by what it says: its service and its first line (the subject)
    in the reader's language, placeholders shown as an ellipsis."""
    service, _slash, _name = target.partition("/")
    path = root / "templates" / f"{target}.{locale}.j2"
    if not path.exists():
        path = root / "templates" / f"{target}.en.j2"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return target
    first = next((ln for ln in lines if ln.strip() and not ln.lstrip().startswith("{#")), target)
    first = re.sub(r"^\s*(Subject:|主题：)\s*", "", first)
    first = re.sub(r"\s+", " ", re.sub(r"\{\{.*?\}\}|\{%.*?%\}", "…", first)).strip()
    return f"{services.get(service, every)} · {first}"


def _target_namer(
    ws: Workspace, locale: str, every_service: str = "Every service"
) -> Callable[[str, str], str]:
    """``target_label(kind, target)``: what a change touches by its name in the reader's
    language (a service's or agreement's title, a decision model's title); templates and tariffs
    are files whose id is their name, shown as code by the page."""
    root = ws.blueprints_dir
    names: dict[tuple[str, str], str] = {}

    def title_of(path: Path) -> str | None:
        try:
            title = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("title")
        except (OSError, yaml.YAMLError):
            return None
        return localise(title, locale) if isinstance(title, dict) else None

    for path in root.glob("services/*/blueprint.yaml"):
        if found := title_of(path):
            names[(ChangeKind.BLUEPRINT.value, path.parent.name)] = found
    for path in root.glob("agreements/*.yaml"):
        if found := title_of(path):
            names[(ChangeKind.AGREEMENT.value, path.stem)] = found
    for key in list(ws.book.keys()):
        versions = ws.book.versions(key)
        title = versions[-1].metadata.title if versions else None
        if title is not None:
            names[(ChangeKind.DECISION_MODEL.value, key)] = title.get(locale)
    services = {t: n for (k, t), n in names.items() if k == ChangeKind.BLUEPRINT.value}
    for path in root.glob("templates/*/*.j2"):
        target = str(path.relative_to(root / "templates")).rsplit(".", 2)[0]
        entry = (ChangeKind.TEMPLATE.value, target)
        if entry not in names:
            names[entry] = _template_words(root, target, locale, services, every_service)
    return lambda kind, target: names.get((kind, target), target)


async def _list(
    request: Request,
    container: Container,
    principal: Principal,
    errors: dict[str, str] | None = None,
    raw: dict[str, str] | None = None,
) -> HTMLResponse:
    changes = await list_changes(container.uow())
    return _page(
        request,
        "governance/list.html",
        principal,
        status_code=400 if errors else 200,
        changes=changes,
        targets=_targets(workspace_of(container)),
        target_label=_target_namer(
            workspace_of(container),
            negotiate_locale(request),
            page_gettext(request)("Every service"),
        ),
        may_author=may_author(principal),
        errors=errors or {},
        raw=raw or {},
        error_summary=error_list(errors, {"target": "target"}) if errors else None,
    )


@governance_pages_router.get("/backoffice/changes", dependencies=[GOVERNANCE_PAGE])
async def changes_page(
    request: Request, container: ContainerDep, principal: CurrentPrincipal
) -> HTMLResponse:
    """Every change request, newest first, and (for authors) a form to start a draft."""
    return await _list(request, container, principal)


@governance_pages_router.post("/backoffice/changes", dependencies=[GOVERNANCE_PAGE])
async def start_draft(
    request: Request, container: ContainerDep, principal: CurrentPrincipal
) -> Response:
    """Open a draft against the published version of the chosen target."""
    _ = page_gettext(request)
    form = await request.form(max_files=0, max_fields=10)
    raw = {k: str(form.get(k) or "").strip() for k in ("target", "title")}
    errors: dict[str, str] = {}
    kind_text, _sep, target = raw["target"].partition(":")
    if (kind_text, target) not in _targets(workspace_of(container)):
        errors["target"] = _("Choose what to change")
    if not raw["title"]:
        errors["title"] = _("Enter a title")
    elif len(raw["title"]) > 300:
        errors["title"] = _("Enter a title of at most 300 characters")
    if errors:
        return await _list(request, container, principal, errors, raw)
    change_id = await draft_change(
        container.uow(),
        container.clock,
        workspace_of(container),
        principal,
        kind=ChangeKind(kind_text),
        target=target,
        title=raw["title"],
    )
    return see_other(f"/backoffice/changes/{change_id}")


def _shown(request: Request, message: str, params: dict[str, Any]) -> str:
    """A diff or check line, translated, with its values."""
    text: str = page_gettext(request)(message)
    try:
        return text % params if params else text
    except (KeyError, ValueError, TypeError):
        return message


def _blueprint_doc(change: ChangeRequest) -> dict[str, Any]:
    for rel, text in change.files.items():
        if rel.startswith("services/"):
            loaded = yaml.safe_load(text)
            return loaded if isinstance(loaded, dict) else {}
    return {}


def _fee_model(change: ChangeRequest) -> str | None:
    if change.kind is ChangeKind.DECISION_MODEL:
        return change.target
    fees = _blueprint_doc(change).get("fees") or {}
    model = str(fees.get("model") or "")
    return model.split("@")[0] or None


def _preview(change: ChangeRequest) -> dict[str, tuple[str, str]]:
    """Each language's rendering of a template draft with sample values: (subject, body)."""
    out: dict[str, tuple[str, str]] = {}
    if change.kind is not ChangeKind.TEMPLATE:
        return out
    with tempfile.TemporaryDirectory() as tmp:
        for rel, text in change.files.items():
            path = Path(tmp) / rel.removeprefix("templates/")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        library = TemplateLibrary(Path(tmp))
        for lang in LANGUAGES:
            try:
                rendered = library.render(change.target, lang, dict(SAMPLE))
            except Exception as exc:
                out[lang] = ("", str(exc))
                continue
            out[lang] = (rendered.subject, rendered.text)
    return out


async def _change_page(
    request: Request,
    container: Container,
    principal: Principal,
    change_id: str,
    errors: dict[str, str] | None = None,
    status_code: int | None = None,
    form: str | None = None,
) -> HTMLResponse:
    ws = workspace_of(container)
    change = await preview_change(container.uow(), ws, change_id)
    fee_model = _fee_model(change)
    cells: list[tuple[str, str, str, str]] = []
    tests_text = ""
    if change.state is ChangeState.DRAFT and fee_model and fee_model in set(ws.book.keys()):
        files, _base = model_for_edit(ws, change.files, fee_model)
        cells = [c for c in rule_rows(files, fee_model) if c[2].startswith("out_")]
        tests_text = next(
            (v for k, v in files.items() if k.startswith(f"rules/{fee_model}/") and "tests" in k),
            "",
        )
    doc = _blueprint_doc(change)
    steps = [
        (str(s.get("id")), (s.get("sla") or {}).get("working_days")) for s in doc.get("steps") or []
    ]
    pages = [str(p.get("id")) for p in ((doc.get("form") or {}).get("ui") or {}).get("pages") or []]
    mine = parties_of(principal)
    pinned, pinned_version, pinned_rows = await pinned_applications(container.uow(), change)
    return _page(
        request,
        "governance/change.html",
        principal,
        status_code=status_code or (400 if errors else 200),
        change=change,
        diff=[(d.owner, _shown(request, d.message, dict(d.params))) for d in change.diff],
        checks=[
            (
                c.name,
                c.passed,
                [_shown(request, ln, dict(p)) for ln, p in _lines(c.lines, c.params)],
            )
            for c in change.checks
        ],
        is_author=change.author == principal.subject,
        may_approve=change.state is ChangeState.SUBMITTED
        and change.author != principal.subject
        and bool(mine & set(change.missing)),
        may_refuse=change.state is ChangeState.SUBMITTED
        and change.author != principal.subject
        and bool(mine & set(change.required)),
        fee_model=fee_model,
        cells=cells,
        tests_text=tests_text,
        steps=steps,
        pages=pages,
        languages=LANGUAGES,
        preview=_preview(change),
        pinned=pinned,
        pinned_version=pinned_version,
        pinned_rows=pinned_rows,
        template_files={
            lang: rel for lang in LANGUAGES for rel in change.files if rel.endswith(f".{lang}.j2")
        },
        errors=errors or {},
        form=form,
        error_summary=error_list(errors) if errors else None,
    )


def _lines(lines: tuple[str, ...], params: tuple[Any, ...]) -> list[tuple[str, dict[str, Any]]]:
    padded = list(params) + [{}] * (len(lines) - len(params))
    return [(line, dict(p)) for line, p in zip(lines, padded, strict=False)]


def _detail(refused: Conflict) -> str:
    return refused.detail


async def _act(
    request: Request,
    container: Container,
    principal: Principal,
    change_id: str,
    form_name: str,
    use_case: Callable[[], Awaitable[object]],
    refusal: Callable[[Conflict], str] = _detail,
    invalid: Callable[[ValidationFailed], dict[str, str]] | None = None,
    then: str = "",
) -> Response:
    """One post of the change page's form ``form_name``: run the use case, then back to the
    change (at ``then``). Refused, the change page again with the reason beside that form: a
    conflict in ``refusal``'s words with the use case's status; invalid input (where ``invalid``
    says which field holds what) with 400; without ``invalid`` invalid input is not caught."""
    try:
        await use_case()
    except ValidationFailed as failed:
        if invalid is None:
            raise
        return await _change_page(
            request, container, principal, change_id, invalid(failed), form=form_name
        )
    except Conflict as exc:
        return await _change_page(
            request,
            container,
            principal,
            change_id,
            {form_name: refusal(exc)},
            exc.status,
            form_name,
        )
    return see_other(f"/backoffice/changes/{change_id}{then}")


@governance_pages_router.get("/backoffice/changes/{change_id}", dependencies=[GOVERNANCE_PAGE])
async def change_page(
    request: Request, change_id: PathId, container: ContainerDep, principal: CurrentPrincipal
) -> HTMLResponse:
    """One change request: its editors (while a draft), diff, checks and approvals."""
    return await _change_page(request, container, principal, change_id)


async def _edit(
    request: Request,
    container: Container,
    principal: Principal,
    change_id: str,
    form_name: str,
    files: dict[str, str],
    base: dict[str, str] | None = None,
) -> Response:
    return await _act(
        request,
        container,
        principal,
        change_id,
        form_name,
        lambda: edit_draft(container.uow(), container.clock, principal, change_id, files, base),
        then="#diff",
    )


def _field_messages(request: Request, failed: ValidationFailed) -> dict[str, str]:
    _ = page_gettext(request)
    return {e.field: _(e.message) for e in failed.errors}


async def _author_draft(
    container: Container, principal: Principal, change_id: str
) -> ChangeRequest:
    change = await get_change(container.uow(), change_id)
    if change.author != principal.subject:
        raise NotAllowed("only the author edits a draft")  # as ``edit_draft`` says it
    return change


async def _apply_edit(
    request: Request,
    container: Container,
    principal: Principal,
    change_id: str,
    form_name: str,
    build: Callable[[ChangeRequest], dict[str, str]],
) -> Response:
    """One editor's post: the author's draft, its files changed by ``build`` (messages beside
    the fields when it refuses them), then stored."""
    try:
        change = await _author_draft(container, principal, change_id)
    except Conflict as exc:
        return await _change_page(
            request, container, principal, change_id, {form_name: exc.detail}, exc.status, form_name
        )
    try:
        files = build(change)
    except ValidationFailed as failed:
        return await _change_page(
            request,
            container,
            principal,
            change_id,
            _field_messages(request, failed),
            form=form_name,
        )
    return await _edit(request, container, principal, change_id, form_name, files)


@governance_pages_router.post(
    "/backoffice/changes/{change_id}/fields", dependencies=[GOVERNANCE_PAGE]
)
async def add_field(
    request: Request, change_id: PathId, container: ContainerDep, principal: CurrentPrincipal
) -> Response:
    """Add a form field (or change one) in the draft's blueprint."""
    form = await request.form(max_files=0, max_fields=15)
    raw = {
        k: str(form.get(k) or "").strip()
        for k in (
            "name",
            "type",
            "title_en",
            "title_zh",
            "page",
            "required",
            "data_class",
            "legal_basis",
            "retention",
        )
    }
    return await _apply_edit(
        request,
        container,
        principal,
        change_id,
        "fields",
        lambda change: set_form_field(
            change.files,
            name=raw["name"],
            kind=raw["type"],
            title_en=raw["title_en"],
            title_zh=raw["title_zh"],
            page=raw["page"],
            required=raw["required"] == "yes",
            owner=principal.department or "",
            data_class=raw["data_class"],
            legal_basis=raw["legal_basis"],
            retention=raw["retention"],
        ),
    )


@governance_pages_router.post(
    "/backoffice/changes/{change_id}/cells", dependencies=[GOVERNANCE_PAGE]
)
async def set_cells(
    request: Request, change_id: PathId, container: ContainerDep, principal: CurrentPrincipal
) -> Response:
    """Set rule table cells (fee amounts) and the test cases of the draft's model version."""
    form = await request.form(max_files=0, max_fields=200)
    change = await get_change(container.uow(), change_id)
    model = _fee_model(change)
    ws = workspace_of(container)
    if model is None or model not in set(ws.book.keys()):
        raise NotFound("this change has no rule table")
    files, base = model_for_edit(ws, change.files, model)
    errors: dict[str, str] = {}
    known = {(t, r, c): v for t, r, c, v in rule_rows(files, model)}
    for key, value in form.multi_items():
        if not key.startswith("cell:") or not isinstance(value, str):
            continue
        table, _sep, rest = key.removeprefix("cell:").partition(":")
        row, _sep, column = rest.partition(":")
        if (table, row, column) not in known:
            errors["cells"] = page_gettext(request)("Choose a cell of the table")
            continue
        if value.strip() == known[(table, row, column)]:
            continue
        try:
            files = set_rule_cell(
                files, ref=model, table=table, row=row, column=column, value=value
            )
        except ValidationFailed as failed:
            errors[f"cell:{table}:{row}:{column}"] = _field_messages(request, failed)["value"]
    tests = str(form.get("tests") or "")
    if tests.strip():
        try:
            parsed = yaml.safe_load(tests)
        except yaml.YAMLError:
            parsed = None
        if not isinstance(parsed, dict) or not isinstance(parsed.get("cases"), list):
            errors["tests"] = page_gettext(request)("Enter the test cases as YAML: cases: [...]")
        else:
            rel = next(k for k in files if k.startswith(f"rules/{model}/") and "tests" in k)
            files[rel] = tests.replace("\r\n", "\n")
    if errors:
        return await _change_page(request, container, principal, change_id, errors, form="cells")
    return await _edit(request, container, principal, change_id, "cells", files, base)


@governance_pages_router.post("/backoffice/changes/{change_id}/sla", dependencies=[GOVERNANCE_PAGE])
async def set_sla(
    request: Request, change_id: PathId, container: ContainerDep, principal: CurrentPrincipal
) -> Response:
    """Set the SLA (working days) of a step of the draft's blueprint."""
    form = await request.form(max_files=0, max_fields=10)
    return await _apply_edit(
        request,
        container,
        principal,
        change_id,
        "sla",
        lambda change: set_step_sla(
            change.files, step=str(form.get("step") or ""), days=str(form.get("days") or "")
        ),
    )


@governance_pages_router.post(
    "/backoffice/changes/{change_id}/template", dependencies=[GOVERNANCE_PAGE]
)
async def set_template(
    request: Request, change_id: PathId, container: ContainerDep, principal: CurrentPrincipal
) -> Response:
    """Replace a template's text in one language."""
    form = await request.form(max_files=0, max_fields=10)
    return await _apply_edit(
        request,
        container,
        principal,
        change_id,
        "template",
        lambda change: set_template_text(
            change.files,
            language=str(form.get("language") or ""),
            text=str(form.get("text") or ""),
        ),
    )


@governance_pages_router.post(
    "/backoffice/changes/{change_id}/upload", dependencies=[GOVERNANCE_PAGE, large_body()]
)
async def upload_file(
    request: Request, change_id: PathId, container: ContainerDep, principal: CurrentPrincipal
) -> Response:
    """Replace one of the draft's files with an uploaded one (UTF-8 text)."""
    _ = page_gettext(request)
    change = await _author_draft(container, principal, change_id)
    form = await request.form(max_files=1, max_fields=5)
    path = str(form.get("path") or "")
    upload = form.get("file")
    errors: dict[str, str] = {}
    if path not in change.files:
        errors["path"] = _("Choose which file to replace")
    text = ""
    if upload is None or isinstance(upload, str):
        errors["file"] = _("Choose a file")
    else:
        content = await upload.read(MAX_UPLOAD + 1)
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            errors["file"] = _("The file must be UTF-8 text")
        if len(content) > MAX_UPLOAD:
            errors["file"] = _("The file must be smaller than 512 KB")
        elif not text.strip():
            errors["file"] = _("The file is empty")
        elif path.endswith(".json"):
            try:
                json.loads(text)
            except json.JSONDecodeError:
                errors["file"] = _("The file is not valid JSON")
    if errors:
        return await _change_page(request, container, principal, change_id, errors, form="upload")
    return await _edit(request, container, principal, change_id, "upload", {path: text})


def _effective(raw: dict[str, str]) -> datetime | None:
    try:
        day = date(
            int(raw["effective-year"]), int(raw["effective-month"]), int(raw["effective-day"])
        )
    except ValueError:
        return None
    return datetime.combine(day, time(), tzinfo=UTC)


@governance_pages_router.post(
    "/backoffice/changes/{change_id}/submit", dependencies=[GOVERNANCE_PAGE]
)
async def submit(
    request: Request, change_id: PathId, container: ContainerDep, principal: CurrentPrincipal
) -> Response:
    """Submit the draft for approval, to take effect at the start of the chosen day (UTC)."""
    _ = page_gettext(request)
    form = await request.form(max_files=0, max_fields=10)
    raw = {
        k: str(form.get(k) or "").strip()
        for k in ("effective-day", "effective-month", "effective-year")
    }
    effective = _effective(raw)
    if effective is None:
        return await _change_page(
            request,
            container,
            principal,
            change_id,
            {"effective": _("Enter a real date")},
            form="submit",
        )
    messages = {
        "future": _("The effective date must be in the future"),
        "changed": _("The draft changes nothing"),
    }

    def invalid(failed: ValidationFailed) -> dict[str, str]:
        return {
            "effective" if e.field == "effective_at" else "submit": messages.get(e.rule)
            or _("The %(check)s check failed", check=e.rule)
            for e in failed.errors
        }

    return await _act(
        request,
        container,
        principal,
        change_id,
        "submit",
        lambda: submit_change(
            container.uow(),
            container.clock,
            workspace_of(container),
            principal,
            change_id,
            effective,
        ),
        invalid=invalid,
    )


@governance_pages_router.post(
    "/backoffice/changes/{change_id}/approve", dependencies=[GOVERNANCE_PAGE]
)
async def approve(
    request: Request, change_id: PathId, container: ContainerDep, principal: CurrentPrincipal
) -> Response:
    """Approve the change for the party the signed-in person answers for."""
    _ = page_gettext(request)

    def refusal(exc: Conflict) -> str:
        words: str = (
            _("You wrote this change: someone else must approve it")
            if "four-eyes" in exc.detail
            else _("You have already approved this change")
            if "already" in exc.detail
            else _("This change touches no part you approve for")
            if "no part" in exc.detail
            else _("This change is not waiting for approval")
        )
        return words

    return await _act(
        request,
        container,
        principal,
        change_id,
        "approve",
        lambda: approve_change(container.uow(), container.clock, principal, change_id),
        refusal,
    )


@governance_pages_router.post(
    "/backoffice/changes/{change_id}/withdraw", dependencies=[GOVERNANCE_PAGE]
)
async def withdraw(
    request: Request, change_id: PathId, container: ContainerDep, principal: CurrentPrincipal
) -> Response:
    """Withdraw a change (its author) or refuse it with a reason (an approver it waits for)."""
    _ = page_gettext(request)
    form = await request.form(max_files=0, max_fields=5)
    reason = str(form.get("reason") or "")
    return await _act(
        request,
        container,
        principal,
        change_id,
        "withdraw",
        lambda: withdraw_change(container.uow(), container.clock, principal, change_id, reason),
        invalid=lambda _failed: {"reason": _("Say why you refuse it")},
    )


@governance_pages_router.get(
    "/backoffice/changes/history/{service_id}", dependencies=[GOVERNANCE_PAGE]
)
async def history(
    request: Request, service_id: PathId, container: ContainerDep, principal: CurrentPrincipal
) -> HTMLResponse:
    """A service's change history as one readable page."""
    changes = await service_history(container.uow(), service_id)
    if (
        not changes
        and (container.settings.blueprints_dir / "services" / service_id).is_dir() is False
    ):
        raise NotFound(f"no service {service_id!r}")
    return _page(
        request,
        "governance/history.html",
        principal,
        service_id=service_id,
        changes=[
            (c, [(d.owner, _shown(request, d.message, dict(d.params))) for d in c.diff])
            for c in changes
        ],
    )


__all__ = ["AUTHOR_ROLES", "governance_pages_router", "workspace_of"]
