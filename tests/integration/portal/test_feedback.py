"""Feedback from the Beta banner's link (issue 19): anyone may send it, nothing identifies the
sender, bad answers are shown beside their field and store nothing, a script is slowed down,
and only service owners and the central team read it back (``/backoffice/feedback``)."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from civicloom.identity.tables import RateLimitWindowRow
from civicloom.portal.tables import FeedbackRow
from civicloom.runtime import Container
from tests.conftest import as_persona
from tests.wiring import still_rate_limits

HTML = {"Accept": "text/html"}
ZH = {"Accept": "text/html", "Cookie": "civicloom_lang=zh-Hans"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


async def stored(container: Container) -> list[tuple[str, str, str, str]]:
    async with container.uow() as uow:
        rows = await uow.session.scalars(select(FeedbackRow).order_by(FeedbackRow.created_at))
        return [(r.rating, r.comment, r.page, r.locale) for r in rows]


async def test_anyone_sends_feedback_and_it_names_nobody(
    container: Container, client: httpx.AsyncClient
) -> None:
    form = await client.get("/feedback?from=/services/open-restaurant", headers=HTML)
    assert form.status_code == 200
    assert "Overall, how did you feel about this service?" in form.text
    assert 'name="from" value="/services/open-restaurant"' in form.text

    sent = await client.post(
        "/feedback",
        data={
            "rating": "dissatisfied",
            "comment": "The opening date question was confusing.",
            "from": "/services/open-restaurant",
        },
        headers=HTML,
    )
    assert sent.status_code == 200
    assert "Thank you for your feedback" in sent.text
    assert 'id="back-to-page" href="/services/open-restaurant"' in sent.text
    assert await stored(container) == [
        (
            "dissatisfied",
            "The opening date question was confusing.",
            "/services/open-restaurant",
            "en",
        )
    ]
    columns = {c.name for c in FeedbackRow.__table__.columns}
    assert columns == {"id", "rating", "comment", "page", "locale", "created_at"}


async def test_feedback_in_chinese_is_stored_with_its_language(
    container: Container, client: httpx.AsyncClient
) -> None:
    sent = await client.post(
        "/feedback", data={"rating": "very-satisfied", "comment": ""}, headers=ZH
    )
    assert sent.status_code == 200
    assert "感谢您的反馈" in sent.text
    assert await stored(container) == [("very-satisfied", "", "/", "zh-Hans")]


async def test_no_answer_is_shown_beside_the_field_and_keeps_the_comment(
    container: Container, client: httpx.AsyncClient
) -> None:
    answer = await client.post(
        "/feedback", data={"comment": "Half a thought", "from": "/help"}, headers=HTML
    )
    assert answer.status_code == 400
    assert 'id="rating-error"' in answer.text
    assert "Select how you feel about this service" in answer.text
    assert 'href="#rating"' in answer.text
    assert "Half a thought</textarea>" in answer.text
    assert await stored(container) == []


async def test_a_comment_too_long_or_with_hidden_characters_stores_nothing(
    container: Container, client: httpx.AsyncClient
) -> None:
    long = await client.post(
        "/feedback", data={"rating": "satisfied", "comment": "x" * 1201}, headers=HTML
    )
    assert long.status_code == 400
    assert "Your comment must be 1200 characters or fewer" in long.text
    bidi = await client.post(
        "/feedback", data={"rating": "satisfied", "comment": "fine\u202egnp.exe"}, headers=HTML
    )
    assert bidi.status_code == 400
    assert "Remove the characters that cannot be sent" in bidi.text
    assert await stored(container) == []


async def test_the_page_is_kept_as_a_route_without_ids(
    container: Container, client: httpx.AsyncClient
) -> None:
    # Found by the attack review: an application id in the page made "anonymous" feedback
    # point at one case, readable by every department's service owners.
    pages = [
        "/applications/0b5e8d0c-6c1e-4f7e-9a51-3f1f2b1c9d10/receipt",
        "/verify/LIC-2026-4F7A9C21",
        "/services/open-a-restaurant",
    ]
    for page in pages:
        sent = await client.post(
            "/feedback", data={"rating": "neither", "from": page}, headers=HTML
        )
        assert sent.status_code == 200
    assert [p for _r, _c, p, _l in await stored(container)] == [
        "/applications/{id}/receipt",
        "/verify/{id}",
        "/services/open-a-restaurant",
    ]


async def test_a_foreign_return_address_becomes_the_home_page(
    container: Container, client: httpx.AsyncClient
) -> None:
    for target in ("https://evil.example/x", "//evil.example/x", "/ok\\..\\x"):
        sent = await client.post(
            "/feedback", data={"rating": "neither", "from": target}, headers=HTML
        )
        assert sent.status_code == 200
        assert 'id="back-to-page" href="/"' in sent.text
    assert [page for _r, _c, page, _l in await stored(container)] == ["/", "/", "/"]


async def test_a_script_sending_feedback_is_slowed_down(
    container: Container, client: httpx.AsyncClient
) -> None:
    still_rate_limits(container)
    statuses = [
        (await client.post("/feedback", data={"rating": "satisfied"}, headers=HTML)).status_code
        for _ in range(31)
    ]
    assert statuses == [200] * 30 + [429]
    assert len(await stored(container)) == 30
    async with container.uow() as uow:  # all 31 counted in the one still minute
        windows = (
            await uow.session.execute(
                select(RateLimitWindowRow.window_start, RateLimitWindowRow.hits).where(
                    RateLimitWindowRow.bucket == "feedback"
                )
            )
        ).all()
    assert [tuple(w) for w in windows] == [(6000, 31)]


async def test_only_owners_and_the_central_team_read_feedback(
    container: Container, client: httpx.AsyncClient
) -> None:
    for rating, comment in (
        ("very-satisfied", "Quick and clear."),
        ("satisfied", ""),
        ("very-dissatisfied", "My card was declined twice."),
    ):
        sent = await client.post(
            "/feedback", data={"rating": rating, "comment": comment}, headers=HTML
        )
        assert sent.status_code == 200
    for persona in ("sam", "priya", "omar"):
        page = await client.get("/backoffice/feedback", headers={**HTML, **as_persona(persona)})
        assert page.status_code == 200, persona
        assert "67% satisfied or very satisfied, from 3 answers" in page.text
        assert "My card was declined twice." in page.text
        assert "Quick and clear." in page.text
    zh = await client.get("/backoffice/feedback", headers={**ZH, **as_persona("omar")})
    assert "3 条回答中 67% 表示满意或非常满意" in zh.text
    assert "非常不满意" in zh.text
    for persona in ("alice", "olivia", "grace", "fiona", "ada"):
        refused = await client.get("/backoffice/feedback", headers={**HTML, **as_persona(persona)})
        assert refused.status_code == 403, persona
        assert "My card was declined twice." not in refused.text
    anonymous = await client.get("/backoffice/feedback", headers=HTML)
    assert anonymous.status_code == 303
    bad = await client.get(
        "/backoffice/feedback?from=yesterday", headers={**HTML, **as_persona("omar")}
    )
    assert bad.status_code == 400
    assert "&#39;from&#39; must be a date like 2027-03-01" in bad.text
