"""``docs/how-to/declare-data-ownership.md`` works as written (ADR 0031): its titled blocks are
written into a copy of ``blueprints/`` and its commands run against a fresh SQLite database;
then the two refusals it promises are provoked with the page's own files."""

from __future__ import annotations

import subprocess
import sys

from civicloom.catalogue import load_agreements, load_register_catalogue
from tests.howtos import apply, snippets
from tests.integration.test_howtos import HOWTOS, Project, project

__all__ = ["project"]  # the fixture: a copy of the demo's blueprints and a migrated database


def civicloom(project: Project, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "civicloom", *arguments],
        cwd=project.root,
        env=project.env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_declaring_data_ownership_as_the_howto_says(project: Project) -> None:
    found = snippets(HOWTOS / "declare-data-ownership.md")
    assert [s.title for s in found] == [
        "blueprints/data-catalogue.yaml",
        "blueprints/agreements/DSA-2025-107.yaml",
        "shell",
    ]
    for snippet in found:
        apply(snippet, project.root, project.env)
    blueprints = project.root / "blueprints"
    zoning = load_register_catalogue(blueprints).register("local-admin.zoning_check")
    assert zoning is not None
    assert sorted(zoning.fields) == ["allowed", "zone"]
    (shared,) = [a for a in load_agreements(blueprints) if a.id == "DSA-2025-107"]
    assert (shared.reader, shared.fields) == ("environment", ("zone",))

    # An agreement sharing a field the catalogue does not list is refused at load.
    agreement = blueprints / "agreements" / "DSA-2025-107.yaml"
    agreement.write_text(
        agreement.read_text(encoding="utf-8").replace("fields: [zone]", "fields: [zone, reason]")
    )
    refused = civicloom(project, "agreements", "sync")
    assert refused.returncode != 0
    assert (
        f"{agreement}: fields[1]: 'reason' is not a catalogued field of local-admin.zoning_check "
        "(data-catalogue.yaml lists allowed, zone); an agreement shares only catalogued fields "
        "[uncatalogued-field]"
    ) in " ".join(refused.stdout.split() + refused.stderr.split())
    agreement.write_text(
        agreement.read_text(encoding="utf-8").replace("fields: [zone, reason]", "fields: [zone]")
    )

    # A field without an owner is not valid and is not published.
    restaurant = blueprints / "services" / "open-a-restaurant" / "blueprint.yaml"
    text = restaurant.read_text(encoding="utf-8")
    cut = text.replace(
        "        x-owner: local-admin\n        x-data-class: business\n"
        '        x-legal-basis: "Food Business Licensing Act 2019, s. 12"\n'
        "        x-retention: P1Y\n",
        "        x-data-class: business\n"
        '        x-legal-basis: "Food Business Licensing Act 2019, s. 12"\n'
        "        x-retention: P1Y\n",
    )
    assert cut != text  # the cuisine field lost its owner
    restaurant.write_text(cut, encoding="utf-8")
    invalid = civicloom(project, "blueprint", "validate", str(restaurant))
    assert invalid.returncode == 1
    assert (
        "form.schema.properties.cuisine.x-owner: field 'cuisine' declares no owner department "
        "(x-owner) [owner-required]"
    ) in invalid.stdout
    unpublished = civicloom(project, "blueprint", "publish", "open-a-restaurant")
    assert unpublished.returncode == 1
    assert "not published: 1 problem(s)" in unpublished.stdout
