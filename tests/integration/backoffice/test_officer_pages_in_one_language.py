"""An officer's main pages read in one language (issue 19): in English no Chinese, in Simplified
Chinese no English words (nor a step id such as "payment") beyond what stays as written.

One world for both directions, driven through the real case engine: Golden Dragon Kitchen's
application waits for the licensing decision, past its due date; a second one Olivia refused,
and Alice asked for a review of the refusal. Nora (licensing officer) reads her queue, both task
pages, the case search, both cases, the reviews and the review; Grace (supervisor) the overdue
task on her page; Ada (auditor) searches the audit trail by the application and by the officer.
Each page is requested over the ASGI client in English and in Chinese, and its visible text
(not scripts, styles, attribute values or the language switcher's name of the other language)
is read."""

from __future__ import annotations

import httpx
import pytest
import yaml
from sqlalchemy import select

from civicloom.applications import StepRunner
from civicloom.applications.tables import ApplicationRow
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.english import BLUEPRINTS, chinese_in, english_runs, visible_text
from tests.integration.backoffice.refusal import ASKED_BECAUSE, REFUSAL, ask_review, refused
from tests.integration.backoffice.world import overdue, submit, task_of

PERSONAS = BLUEPRINTS / "demo" / "personas.yaml"
# What stays as it was written: what people typed, the names of the demo's
# people and business (the case search's example too), and the audit export format's name.
PEOPLE = tuple(p["name"] for p in yaml.safe_load(PERSONAS.read_text(encoding="utf-8"))["personas"])
AS_WRITTEN = (REFUSAL, ASKED_BECAUSE, *PEOPLE, "Golden Dragon", "JSON Lines")
LANGUAGES = ("en", "zh-Hans")


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # words, not database paths
async def test_the_officers_pages_read_in_one_language(
    container: Container, runner: StepRunner, client: httpx.AsyncClient
) -> None:
    waiting = await submit(container, "one-language-waiting")
    refused_id = await refused(container, runner, "one-language-refused")  # runs the engine
    review = await ask_review(container, refused_id)
    open_task = await task_of(container, waiting, "licensing_review")
    await overdue(container, open_task.id)
    decided_task = await task_of(container, refused_id, "licensing_review")
    async with container.uow() as uow:
        reference = await uow.session.scalar(
            select(ApplicationRow.reference).where(ApplicationRow.id == refused_id)
        )
    pages = {
        "nora": [
            "/backoffice/tasks",
            f"/backoffice/tasks/{open_task.id}",
            f"/backoffice/tasks/{decided_task.id}",
            "/backoffice/cases?q=Golden",
            f"/backoffice/cases/{waiting}",
            f"/backoffice/cases/{refused_id}",
            "/backoffice/reviews",
            f"/backoffice/reviews/{review.id}",
        ],
        "grace": ["/backoffice/supervision"],
        "ada": [
            f"/backoffice/audit?application={reference}",
            "/backoffice/audit?officer=Olivia+Grant",
        ],
    }
    found: dict[str, list[str]] = {}
    read: dict[str, str] = {}
    for lang in LANGUAGES:
        for who, paths in pages.items():
            headers = {**as_persona(who), "Accept": "text/html", "Accept-Language": lang}
            for path in paths:
                page = await client.get(path, headers=headers)
                assert page.status_code == 200, (lang, path, page.status_code)
                assert f'<html lang="{lang}"' in page.text, (lang, path)
                shown = path
                for name, id_ in (
                    ("<waiting>", waiting),
                    ("<refused>", refused_id),
                    ("<open task>", open_task.id),
                    ("<decided task>", decided_task.id),
                    ("<review>", review.id),
                ):
                    shown = shown.replace(id_, name)
                # the switcher names the other language in it, marked as written in that one
                text = visible_text(page.text, "zh-Hans" if lang == "en" else "en")
                read[f"{lang} {shown}"] = text
                if lang == "en":
                    if han := chinese_in(text):
                        found[f"en {shown}"] = han
                elif runs := english_runs(text, AS_WRITTEN):
                    found[f"zh {shown}"] = runs
    assert found == {}
    # the supervisor's overdue task names its step by the step's title, not its id
    assert "Licensing decision" in read["en /backoffice/supervision"]
    assert "许可决定" in read["zh-Hans /backoffice/supervision"]
