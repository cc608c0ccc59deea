"""docs/how-to/change-a-service.md followed as written (ADR 0031): Sam drafts the field and
the fee change with the page's labels and the page's test cases file, Ruth and Gabriel approve,
and the page's own commands publish the change and list it."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta

from civicloom.catalogue import get_current_blueprint
from civicloom.kernel import FixedClock
from civicloom.runtime import Container
from civicloom.settings import PROJECT_ROOT
from tests.howtos import apply, snippets
from tests.integration.governance.test_change_pages import browser
from tests.integration.identity.conftest import csrf_from

HOWTO = PROJECT_ROOT / "docs" / "how-to" / "change-a-service.md"


def bold(text: str) -> set[str]:
    """The labels the how-to names in bold."""
    return {" ".join(found.split()) for found in re.findall(r"\*\*([^*]+)\*\*", text)}


async def test_the_how_to_works_as_written(container: Container) -> None:
    text = HOWTO.read_text(encoding="utf-8")
    labels = bold(text)
    tests_file, shell = snippets(HOWTO)
    assert tests_file.title == "blueprints/rules/local-admin/licence-fee/v2.tests.yaml"
    assert shell.title == "shell"
    # the change is drafted two days ago, to take effect today: the commands' wall clock
    # finds it due
    today = datetime.now(UTC).date()
    container.clock = FixedClock(datetime.now(UTC) - timedelta(days=2))

    async with browser(container, "sam") as sam:
        page = await sam.get("/backoffice/changes")
        for label in ("Change requests", "Start a change", "What to change", "Title"):
            assert label in labels
            assert label in page.text
        started = await sam.post(
            "/backoffice/changes",
            data={
                "csrf_token": csrf_from(page.text),
                "target": "blueprint:open-a-restaurant",
                "title": "Small-band fee €500 and outdoor seats",
            },
        )
        change_url = started.headers["location"]
        page = await sam.get(change_url)
        for label in (
            "Edit the draft",
            "Add or change a form field",
            "Label in English",
            "Label in Simplified Chinese",
            "Save the field",
            "Test cases of the model (YAML)",
            "Save the rule table",
            "Service level of a step",
            "Replace a file",
            "Submit for approval",
            "Effective date",
        ):
            assert label in labels
            assert label in page.text
        assert "Fees and rule table: local-admin/licence-fee" in page.text
        token = csrf_from(page.text)
        await sam.post(
            f"{change_url}/fields",
            data={
                "csrf_token": token,
                "name": "outdoor_seats",
                "type": "integer",
                "title_en": "Outdoor seats",
                "title_zh": "室外座位数",
                "page": "premises",
                "required": "no",
                "data_class": "business",
                "legal_basis": "Food Business Licensing Act 2019, s. 12",
                "retention": "P6Y",
            },
        )
        saved = await sam.post(
            f"{change_url}/cells",
            data={
                "csrf_token": token,
                "cell:fee-table:small:out_fee": "500",
                "tests": tests_file.text,
            },
        )
        assert saved.status_code == 303
        page = await sam.get(change_url)
        assert "Form field outdoor_seats added (integer, “Outdoor seats”)" in page.text
        assert "Licence fee table, row “21 to 40 seats: small band”, Fee: 400 → 500" in page.text
        assert "What-if on recent applications" in page.text
        submitted = await sam.post(
            f"{change_url}/submit",
            data={
                "csrf_token": csrf_from(page.text),
                "effective-day": str(today.day),
                "effective-month": str(today.month),
                "effective-year": str(today.year),
            },
        )
        assert submitted.status_code == 303, submitted.text
        page = await sam.get(change_url)
        refused = await sam.post(f"{change_url}/approve", data={"csrf_token": csrf_from(page.text)})
        assert "You wrote this change: someone else must approve it" in refused.text
        assert "You wrote this change: someone else must approve it" in " ".join(text.split())

    for approver in ("ruth", "gabriel"):
        async with browser(container, approver) as person:
            page = await person.get(change_url)
            approved = await person.post(
                f"{change_url}/approve", data={"csrf_token": csrf_from(page.text)}
            )
            assert approved.status_code == 303
    async with browser(container, "gabriel") as gabriel:
        page = await gabriel.get(change_url)
        assert "Approved, scheduled" in page.text
        assert "Approved, scheduled" in labels

    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT / "src"),
        "CIVICLOOM_PROFILE": "test",
        "CIVICLOOM_DATABASE_URL": container.settings.effective_database_url,
        "CIVICLOOM_VAR_DIR": str(container.settings.var_dir),
        "COLUMNS": "200",
    }
    published, listed = apply(shell, PROJECT_ROOT, env)
    assert "1 change(s) published" in published
    assert "published" in listed
    async with container.uow() as uow:
        current = await get_current_blueprint(uow.session, "open-a-restaurant")
    assert current is not None
    assert current.blueprint.version == 6  # the demo is at v5 (ADR 0050), the change publishes v6
    async with browser(container, "sam") as sam:
        history = await sam.get("/backoffice/changes/history/open-a-restaurant")
        assert "Change history of open-a-restaurant" in history.text
        assert "Approved by" in history.text
        assert "Ruth Adeyemi" in history.text
