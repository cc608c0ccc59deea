"""The semantic diff and the translation check on hand-written documents (no I/O)."""

from __future__ import annotations

from civicloom.governance import DiffLine
from civicloom.governance.checks import translations
from civicloom.governance.diff import owners, semantic_diff

BEFORE = """id: svc
owner: local-admin
legal_deadline_working_days: 20
form:
  schema:
    properties:
      seats: {type: integer, x-title: {en: Seats, zh-Hans: 座位}}
      tax_id: {type: string, x-owner: tax, x-title: {en: Tax id, zh-Hans: 税号}}
      note: {type: string, x-title: {en: Note, zh-Hans: 备注}}
steps:
  - {id: a, kind: automated, department: tax, sla: {working_days: 2}}
  - {id: b, kind: officer_review, department: local-admin, sla: {working_days: 3}}
fees: {model: local-admin/licence-fee}
"""
AFTER = """id: svc
owner: local-admin
legal_deadline_working_days: 15
form:
  schema:
    properties:
      seats: {type: string, x-title: {en: Seats, zh-Hans: 座位}}
      tax_id: {type: string, x-owner: tax, x-title: {en: Tax id, zh-Hans: 税号}}
      terrace: {type: boolean, x-title: {en: Terrace}}
steps:
  - {id: b, kind: officer_review, department: local-admin, sla: {working_days: 5}}
  - {id: a, kind: automated, department: tax, sla: {working_days: 2}}
fees: {model: local-admin/licence-fee@2}
"""
PATH = "services/svc/blueprint.yaml"


def shown(lines: list[DiffLine]) -> list[tuple[str, str | None]]:
    return [(d.message % dict(d.params), d.owner) for d in lines]


def test_a_blueprint_diff_reads_as_sentences_with_owners() -> None:
    lines = semantic_diff({PATH: BEFORE}, {PATH: AFTER})
    assert shown(lines) == [
        ("Form field seats retyped from integer to string", "local-admin"),
        ("Form field terrace added (boolean, “Terrace”)", "local-admin"),
        ("Form field note removed", "local-admin"),
        ("SLA of step b changed from 3 to 5 working days", "local-admin"),
        ("Steps reordered: a, b → b, a", "local-admin"),
        (
            "Fee model changed from local-admin/licence-fee to local-admin/licence-fee@2",
            "local-admin",
        ),
        ("Legal deadline changed from 20 to 15 working days", "local-admin"),
    ]
    assert owners(lines) == ("local-admin", "central")


def test_a_tax_field_needs_the_tax_authority() -> None:
    after = BEFORE.replace("{en: Tax id, zh-Hans: 税号}", "{en: Tax number, zh-Hans: 税号}")
    lines = semantic_diff({PATH: BEFORE}, {PATH: after})
    assert shown(lines) == [("Form field tax_id changed", "tax")]
    assert owners(lines) == ("tax", "central")


def test_template_lines_per_language_and_untranslated_labels() -> None:
    base = {"templates/svc/sent.en.j2": "Subject: Sent\n\nHello.\n"}
    draft = {"templates/svc/sent.en.j2": "Subject: Sent\n\nHello again.\n"}
    lines = semantic_diff(base, draft, "local-admin")
    assert shown(lines) == [
        ("templates/svc/sent.en.j2 (en): -Hello.", "local-admin"),
        ("templates/svc/sent.en.j2 (en): +Hello again.", "local-admin"),
    ]
    missing = translations(draft, lines)
    assert not missing.passed
    assert missing.lines == ("templates/svc/sent.zh-Hans.j2",)
    check = translations({PATH: AFTER}, semantic_diff({PATH: BEFORE}, {PATH: AFTER}))
    assert check.lines == ("terrace.x-title.zh-Hans",)
