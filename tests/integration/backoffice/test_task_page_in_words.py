"""The officer task page reads as words (issue 19): the applicant's answer beside the question,
rule outcomes under the department's own names instead of JSON, a history in time order
without a row per page view, people and departments by name, in English and Chinese."""

from __future__ import annotations

import httpx

from civicloom.applications import StepRunner
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.integration.backoffice.world import drain, submit, task_of

ZH = {"Cookie": "civicloom_lang=zh-Hans"}


def history_rows(html: str) -> list[list[str]]:
    """The history table's rows as cell texts."""
    body = html.split('id="history"', 1)[1].split("</tbody>", 1)[0].split("<tbody", 1)[1]
    rows = []
    for chunk in body.split("<tr")[1:]:
        cells = [c.split(">", 1)[1].split("</td>", 1)[0] for c in chunk.split("<td")[1:]]
        rows.append(cells)
    return rows


async def test_olivia_reads_the_answer_outcomes_and_history_in_words(
    container: Container, runner: StepRunner, client: httpx.AsyncClient
) -> None:
    app_id = await submit(container, "words-1", seating=40)
    await drain(runner)
    review = await task_of(container, app_id, "licensing_review")
    olivia, alice = as_persona("olivia"), as_persona("alice")
    for _ in range(3):  # page views: each is an audited read, none belongs in the history
        assert (
            await client.get(f"/backoffice/tasks/{review.id}", headers=olivia)
        ).status_code == 200
    asked = await client.post(
        f"/backoffice/tasks/{review.id}/information-request",
        data={"message": "Is the grease trap already installed?"},
        headers=olivia,
    )
    assert asked.status_code == 303
    answered = await client.post(
        f"/api/v1/applications/{app_id}/information",
        json={"answer": "Yes, installed on 2 December by Riverton Plumbing."},
        headers=alice,
    )
    assert answered.status_code == 204

    page = await client.get(f"/backoffice/tasks/{review.id}", headers=olivia)
    text = page.text
    exchanges = text.split('id="exchanges"', 1)[1].split("</dl>", 1)[0]
    assert "Question from Olivia Grant" in exchanges
    assert "Is the grease trap already installed?" in exchanges
    assert "Answer from the applicant" in exchanges
    assert "Yes, installed on 2 December by Riverton Plumbing." in exchanges
    assert exchanges.index("Is the grease trap") < exchanges.index("Yes, installed")

    zoning = text.split('data-outcome="zoning"', 1)[1].split("</dl>", 1)[0]
    assert "{" not in zoning  # no JSON
    assert "Zoning eligibility" in text

    rows = history_rows(text)
    whats = [r[1] for r in rows]
    assert "Application read" not in whats
    assert whats.index("Application sent") < whats.index("Applicant asked for more information")
    assert "Applicant asked for more information" in whats
    assert "Applicant sent more information" in whats
    assert whats.index("Applicant asked for more information") < whats.index(
        "Applicant sent more information"
    )
    asked_row = rows[whats.index("Applicant asked for more information")]
    assert asked_row[2:] == ["Olivia Grant", "Local Administration"]
    answered_row = rows[whats.index("Applicant sent more information")]
    assert answered_row[2] == "The applicant"
    for row in rows:
        assert "dev-login:" not in row[2]
        assert row[3] in ("Local Administration", "The platform")

    zh = await client.get(f"/backoffice/tasks/{review.id}", headers={**olivia, **ZH})
    zh_whats = [r[1] for r in history_rows(zh.text)]
    assert "申请已提交" in zh_whats
    assert "已要求申请人补充信息" in zh_whats
    assert "申请人的回答" in zh.text
    assert "地方行政局" in zh.text
    assert "分区资格" in zh.text
