"""What a message to a department's staff may say (attack review of ADR 0059's staff e-mails):
no form answers, and the business name only for a department the form lets read it."""

from __future__ import annotations

from pathlib import Path

from civicloom.catalogue import load_blueprint_file
from civicloom.notifications.services import staff_context

RESTAURANT = load_blueprint_file(Path("blueprints/services/open-a-restaurant/blueprint.yaml"))
CONTEXT = {
    "reference": "RST-2026-0001",
    "business": "Golden Dragon Kitchen Ltd",
    "data": {"business_name": "Golden Dragon Kitchen Ltd", "director_name": "Alice Chen"},
}


def test_the_tax_authority_is_not_told_a_business_name_it_may_not_read() -> None:
    told = staff_context(CONTEXT, RESTAURANT, "tax")
    assert told["business"] == ""
    assert told["data"] == {}
    assert told["reference"] == "RST-2026-0001"
    assert staff_context(CONTEXT, RESTAURANT, "environment")["business"] == ""


def test_departments_that_read_the_name_get_it_but_never_the_answers() -> None:
    for department in ("local-admin", "labour"):
        told = staff_context(CONTEXT, RESTAURANT, department)
        assert told["business"] == "Golden Dragon Kitchen Ltd"
        assert told["data"] == {}
