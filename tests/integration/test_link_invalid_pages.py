"""The two "page link is not valid" pages (a forged list cursor in the back office, a forged
timeline cursor in the portal) share one layout (``web/templates/link_invalid.html``) and keep
their own words, in English and in Simplified Chinese."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import as_persona
from tests.integration.test_applications_api import restaurant

HTML = {"Accept": "text/html"}
ZH = {"Cookie": "civicloom_lang=zh-Hans"}
ALICE = as_persona("alice")
ELENA = as_persona("elena")


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        (
            {},
            [
                "This page link is not valid</h1>",
                "The link was changed, or it belongs to another list or to other filters.</p>",
                '<a class="govuk-link" href="/backoffice/tasks?sla=breached">'
                "Go to the first page</a>",
            ],
        ),
        (
            ZH,
            [
                "此页面链接无效</h1>",
                "该链接已被更改，或属于另一个列表或其他筛选条件。</p>",
                '<a class="govuk-link" href="/backoffice/tasks?sla=breached">转到第一页</a>',
            ],
        ),
    ],
)
async def test_a_forged_queue_link_names_the_list_and_links_its_first_page(
    client: httpx.AsyncClient, lang: dict[str, str], words: list[str]
) -> None:
    page = await client.get(
        "/backoffice/tasks",
        params={"sla": "breached", "cursor": "not-a-cursor"},
        headers={**ELENA, **HTML, **lang},
    )
    assert page.status_code == 400
    assert 'data-error-status="400"' in page.text
    for said in words:
        assert said in page.text
    assert "timeline" not in page.text
    assert "时间线" not in page.text


async def test_a_forged_timeline_link_names_the_timeline_and_links_its_newest_entries(
    client: httpx.AsyncClient,
) -> None:
    made = await client.post("/api/v1/applications", json=restaurant(), headers=ALICE)
    assert made.status_code == 201, made.text
    app_id = made.json()["id"]
    back = f'<a class="govuk-link" href="/applications/{app_id}#timeline-heading">'
    expected = {
        "en": [
            "This page link is not valid</h1>",
            "The link was changed, or it belongs to another application's timeline.</p>",
            back + "See the newest entries of this application's timeline</a>",
        ],
        "zh-Hans": [
            "此页面链接无效</h1>",
            "该链接已被更改，或属于另一份申请的时间线。</p>",
            back + "查看此申请时间线的最新记录</a>",
        ],
    }
    for lang, words in expected.items():
        headers = {**ALICE, **HTML, **(ZH if lang == "zh-Hans" else {})}
        page = await client.get(f"/applications/{app_id}?cursor=not-a-cursor", headers=headers)
        assert page.status_code == 400, lang
        assert 'data-error-status="400"' in page.text
        for said in words:
            assert said in page.text, (lang, said)
        assert "Go to the first page" not in page.text
        assert "转到第一页" not in page.text
