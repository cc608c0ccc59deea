"""Every problem ``type`` the platform answers resolves at ``/problems/<slug>`` (issue 16: the
callbacks' and payments' types did not)."""

from __future__ import annotations

import importlib
import pkgutil

import civicloom
from civicloom.kernel import DomainError
from civicloom.web.errors import PROBLEM_TYPES


def _every_domain_error() -> set[type[DomainError]]:
    for module in pkgutil.walk_packages(civicloom.__path__, "civicloom."):
        if not module.name.endswith("__main__"):  # running it would start the CLI
            importlib.import_module(module.name)
    found: set[type[DomainError]] = set()
    todo: list[type[DomainError]] = [DomainError]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                todo.append(sub)
    return found


def test_every_domain_errors_type_is_described() -> None:
    slugs = {error.slug for error in _every_domain_error()}
    assert {
        "callback-refused",
        "callback-replayed",
        "callback-invalid",
        "completion-refused",
        "completion-not-awaited",
        "callbacks-unavailable",
        "webhook-signature",
        "provider-unavailable",
    } <= slugs
    assert sorted(slugs - set(PROBLEM_TYPES)) == []
