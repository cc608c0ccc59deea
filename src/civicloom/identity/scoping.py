"""Department scoping of application data: which fields each principal may read."""

from __future__ import annotations

from typing import Any

from civicloom.identity.domain import visible_field_names
from civicloom.identity.ports import BlueprintLike
from civicloom.kernel import Principal


def visible_fields(
    principal: Principal,
    blueprint: BlueprintLike,
    data: dict[str, Any],
    *,
    is_applicant: bool = False,
) -> dict[str, Any]:
    """The part of an application's data this principal may read.

    The blueprint's form schema declares per field ``x-owner`` (default: the blueprint's
    owner department) and ``x-visible-to`` (more departments entitled by a data-sharing
    declaration). Applicants and auditors see everything; officers, supervisors and service
    owners only the fields their department is entitled to; anyone else nothing. Fields not
    declared in the schema count as owned by the blueprint's owner.
    """
    properties = dict(blueprint.form.json_schema.get("properties", {}))
    for name in data:
        properties.setdefault(name, {})
    allowed = visible_field_names(principal, properties, blueprint.owner, is_applicant=is_applicant)
    return {name: value for name, value in data.items() if name in allowed}
