"""Pure access rules: mandates, application visibility, field visibility, policies, buckets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from civicloom.catalogue import load_blueprint_file
from civicloom.identity import (
    ROUTE_POLICIES,
    Access,
    RoutePolicy,
    ScopedPrincipal,
    load_personas,
    may_act_for,
    may_view_application,
    principal_for_persona,
    visible_fields,
)
from civicloom.kernel import Principal
from civicloom.settings import PROJECT_ROOT
from civicloom.web.pages import safe_next

BLUEPRINTS = PROJECT_ROOT / "blueprints"


def persona(name: str) -> Principal:
    """A demo persona's principal."""
    return principal_for_persona(load_personas(BLUEPRINTS)[name])


def test_alice_acts_for_golden_dragon_and_bob_does_not() -> None:
    assert may_act_for(persona("alice"), "BR-2019-004211")
    assert not may_act_for(persona("alice"), "BR-2020-000001")
    assert not may_act_for(persona("bob"), "BR-2019-004211")
    citizen_with_stale_mandate = ScopedPrincipal(
        subject="x", display_name="x", roles=frozenset({"citizen"}), mandates=frozenset({"BR-1"})
    )
    assert not may_act_for(citizen_with_stale_mandate, "BR-1")  # mandate needs the role


def test_who_may_view_an_application() -> None:
    kwargs: dict[str, Any] = {
        "applicant_id": "alice",
        "business_registration_number": "BR-2019-004211",
        "departments": ["local-admin", "tax"],
    }
    assert may_view_application(persona("alice"), **kwargs)
    assert may_view_application(persona("tariq"), **kwargs)
    assert may_view_application(persona("ada"), **kwargs)
    assert not may_view_application(persona("bob"), **kwargs)
    assert not may_view_application(persona("elena"), **kwargs)  # environment not involved
    assert not may_view_application(persona("priya"), **kwargs)  # operators see no cases


class _Form:
    def __init__(self, schema: dict[str, Any]) -> None:
        self.json_schema = schema


class _Blueprint:
    def __init__(self, owner: str, schema: dict[str, Any]) -> None:
        self.owner = owner
        self.form = _Form(schema)


DATA = {"business_name": "Golden Dragon", "seating": 60, "grease_trap": False, "extra": 1}
SCHEMA = {
    "properties": {
        "business_name": {"type": "string", "x-visible-to": ["tax", "environment", "labour"]},
        "seating": {"type": "integer", "x-owner": "environment"},
        "grease_trap": {"type": "boolean", "x-owner": "environment", "x-visible-to": "local-admin"},
    }
}


def test_tax_officer_cannot_see_environment_only_fields() -> None:
    blueprint = _Blueprint("local-admin", SCHEMA)
    assert visible_fields(persona("tariq"), blueprint, DATA) == {"business_name": "Golden Dragon"}
    assert visible_fields(persona("elena"), blueprint, DATA) == {
        "business_name": "Golden Dragon",
        "seating": 60,
        "grease_trap": False,
    }
    assert visible_fields(persona("olivia"), blueprint, DATA) == {
        "business_name": "Golden Dragon",
        "grease_trap": False,
        "extra": 1,  # undeclared fields belong to the blueprint's owner
    }
    assert visible_fields(persona("bob"), blueprint, DATA) == {}
    assert visible_fields(persona("priya"), blueprint, DATA) == {}
    assert visible_fields(persona("alice"), blueprint, DATA, is_applicant=True) == DATA
    assert visible_fields(persona("ada"), blueprint, DATA) == DATA


def test_without_declarations_only_the_owner_department_sees_fields() -> None:
    blueprint = load_blueprint_file(
        BLUEPRINTS / "services" / "open-a-restaurant" / "blueprint.yaml"
    )
    data = {"business_name": "Golden Dragon", "seating": 40}
    assert visible_fields(persona("olivia"), blueprint, data) == data
    tax_view = visible_fields(persona("tariq"), blueprint, data)
    declared = blueprint.form.json_schema["properties"]
    for name in tax_view:  # only what the blueprint explicitly shares with tax
        assert (
            "tax" in str(declared[name].get("x-visible-to", ""))
            or declared[name].get("x-owner") == "tax"
        )


@pytest.mark.parametrize(
    ("policy", "who", "outcome"),
    [
        (RoutePolicy(public=True), None, Access.ALLOW),
        (RoutePolicy(), None, Access.UNAUTHENTICATED),
        (RoutePolicy(roles=frozenset({"officer"})), "bob", Access.DENY),
        (RoutePolicy(roles=frozenset({"officer"})), "tariq", Access.ALLOW),
        (RoutePolicy(), "priya", Access.ALLOW),
    ],
)
def test_policy_evaluation(policy: RoutePolicy, who: str | None, outcome: Access) -> None:
    assert policy.evaluate(persona(who) if who else None) is outcome


def test_machine_clients_need_the_scope() -> None:
    machine = ScopedPrincipal(
        subject="client:abc",
        display_name="Tax system",
        roles=frozenset({"machine-client"}),
        department="tax",
        scopes=frozenset({"tasks:read"}),
    )
    assert RoutePolicy(scope="tasks:read").evaluate(machine) is Access.ALLOW
    assert RoutePolicy(scope="tasks:write").evaluate(machine) is Access.DENY
    assert RoutePolicy().evaluate(machine) is Access.DENY
    assert RoutePolicy(machines=True).evaluate(machine) is Access.ALLOW


def test_every_table_entry_is_a_real_path_template() -> None:
    for method, path in ROUTE_POLICIES:
        assert method in {"GET", "POST", "PUT", "PATCH", "DELETE"}
        assert path.startswith("/")


@pytest.mark.parametrize(
    ("value", "followed"),
    [
        ("/auth/me", "/auth/me"),
        ("//evil.example/x", "/auth/signed-in"),
        ("https://evil.example/", "/auth/signed-in"),
        ("/\\evil.example", "/auth/signed-in"),
        (None, "/auth/signed-in"),
    ],
)
def test_only_local_redirects_after_login(value: str | None, followed: str) -> None:
    assert safe_next(value) == followed


def test_personas_file_exists() -> None:
    assert Path(BLUEPRINTS / "demo" / "personas.yaml").is_file()
    ids = set(load_personas(BLUEPRINTS))
    demo = {"alice", "bob", "olivia", "tariq", "elena", "lars", "grace", "sam", "priya", "ada"}
    assert demo | {"nora", "felix", "fiona", "farah", "omar"} <= ids


def test_funding_personas() -> None:
    farah = persona("farah")
    assert farah.roles == frozenset({"finance-officer"})
    assert farah.department == "labour"
    assert persona("omar").roles == frozenset({"platform-owner"})
    assert persona("omar").department is None
