"""Audit actions and event types are named, never spelled: a source scan with ``ast``.

Every call that writes an audit entry or an outbox event must pass an ``AuditAction.<MEMBER>``
or an ``EventType.<MEMBER>`` (or pass through a value of that type that mypy --strict checks);
a string literal, an f-string, a concatenation or a call that builds a member from text fails.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import civicloom

SRC = Path(civicloom.__file__).parent

# callee name -> (position of the argument, its keyword name, the enum it must come from)
CHECKED_CALLS: dict[str, tuple[int, str, str]] = {
    "AuditRecord": (1, "action", "AuditAction"),
    "AuditNote": (1, "action", "AuditAction"),
    "audit": (2, "action", "AuditAction"),  # applications.case.audit
    "_audit": (2, "action", "AuditAction"),  # identity.apikeys._audit
    "audit_change": (1, "action", "AuditAction"),  # governance.records.audit_change
    "CloudEvent": (0, "type", "EventType"),
    "EventNote": (0, "type", "EventType"),
    "emit": (3, "event_type", "EventType"),  # applications.case.emit
}
# The only places that turn text into a member: reading stored entries and incoming events.
PARSING_ALLOWED = {
    ("audit/services.py", "stored_action"),
    ("notifications/services.py", "_event_type"),
}


@dataclass(frozen=True)
class Finding:
    """An action or event type that is not a named member."""

    where: str
    line: int
    what: str


def _callee(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def _named(node: ast.expr, enum: str) -> bool:
    """A member attribute, or a pass-through whose type mypy checks (never text)."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        # AuditAction.X, or a typed value passed on (audit.action, note.type)
        return node.value.id == enum or node.value.id[:1].islower()
    if isinstance(node, ast.IfExp):
        return _named(node.body, enum) and _named(node.orelse, enum)
    if isinstance(node, ast.Call):  # only the parsers allowed below
        return _callee(node) in {function for _, function in PARSING_ALLOWED}
    return isinstance(node, ast.Name | ast.Subscript)


def scan(source: str, where: str) -> list[Finding]:
    """Every audit action or event type in ``source`` that is not a named member."""
    findings: list[Finding] = []
    tree = ast.parse(source)
    functions: dict[ast.AST, str] = {}
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(fn):
                functions.setdefault(inner, fn.name)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _callee(node)
        if name in ("AuditAction", "EventType"):
            if (where, functions.get(node, "")) not in PARSING_ALLOWED:
                findings.append(Finding(where, node.lineno, f"{name}(...) built from text"))
            continue
        if name not in CHECKED_CALLS:
            continue
        position, keyword, enum = CHECKED_CALLS[name]
        argument = next((k.value for k in node.keywords if k.arg == keyword), None)
        if argument is None and len(node.args) > position:
            argument = node.args[position]
        if argument is None:
            continue
        if not _named(argument, enum):
            findings.append(Finding(where, node.lineno, f"{name}: {ast.unparse(argument)}"))
    return sorted(findings, key=lambda f: (f.line, f.what))


def test_every_audit_action_and_event_type_in_the_platform_is_a_named_member() -> None:
    findings = [
        finding
        for path in sorted(SRC.rglob("*.py"))
        for finding in scan(path.read_text(encoding="utf-8"), path.relative_to(SRC).as_posix())
    ]
    assert findings == []


def test_the_scan_catches_literals_f_strings_and_members_built_from_text() -> None:
    bad = """
async def change(session, app, now, decision, kind):
    await append_audit(session, AuditRecord(actor="a", action="x.read", subject_type="s",
                                            subject_id="1", occurred_at=now))
    await audit(session, "officer", f"task.{decision}d", app, now)
    await emit(session, app, now, "notification.requested", {}, key="k")
    CloudEvent(type=f"civicloom.{kind}", source="s", subject="1", time=now, data={})
    AuditNote("officer", "note." + kind)
    EventNote(EventType(f"civicloom.{kind}"), {}, key="k")
"""
    found = [(f.line, f.what) for f in scan(bad, "example.py")]
    assert found == [
        (3, "AuditRecord: 'x.read'"),
        (5, "audit: f'task.{decision}d'"),
        (6, "emit: 'notification.requested'"),
        (7, "CloudEvent: f'civicloom.{kind}'"),
        (8, "AuditNote: 'note.' + kind"),
        (9, "EventNote: EventType(f'civicloom.{kind}')"),
        (9, "EventType(...) built from text"),
    ]


def test_named_members_pass_the_scan() -> None:
    good = """
async def change(session, app, now, note, release):
    await audit(session, "officer", AuditAction.TASK_CLAIMED, app, now)
    await audit(session, "officer",
                AuditAction.TASK_RELEASED if release else AuditAction.TASK_CLAIMED, app, now)
    await emit(session, app, now, EventType.TASK_CREATED, {}, key="k")
    AuditRecord(actor="a", action=note.action, subject_type="s", subject_id="1", occurred_at=now)
    CloudEvent(type=OUTCOMES[release], source="s", subject="1", time=now, data={})
"""
    assert scan(good, "example.py") == []
