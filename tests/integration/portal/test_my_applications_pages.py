"""A citizen's "My applications" is keyset-paged (issue 23): 20 newest first, links to older and
newer pages, a cursor never shows another citizen's applications, a forged cursor is refused in
words, and the list carries service titles without reading a blueprint document per row."""

from __future__ import annotations

import re

import httpx

from civicloom.kernel import Cursor
from civicloom.runtime import Container
from tests.integration.portal.test_query_counts import ALICE, apply
from tests.querycount import counting

HTML = {"Accept": "text/html"}
BOB = {"Authorization": "Bearer dev:bob"}


def _links(text: str) -> dict[str, str]:
    """The page's pagination links by their ``rel`` (``next``, ``prev``): cursor values."""
    found = re.findall(r'href="/applications\?cursor=([^"]+)" rel="(next|prev)"', text)
    return {rel: cursor for cursor, rel in found}


def _rows(text: str) -> list[str]:
    return re.findall(r'href="/applications/([0-9a-f-]{36})"', text)


async def test_pages_of_twenty_newest_first_with_older_and_newer_links(
    client: httpx.AsyncClient, container: Container
) -> None:
    ids = await apply(client, 21)
    with counting(container) as statements:
        first = await client.get("/applications", headers={**ALICE, **HTML})
    assert first.status_code == 200
    assert _rows(first.text) == ids[::-1][:20]
    assert "Older applications" in first.text
    assert "Newer applications" not in first.text
    assert not any("blueprint_versions" in s for s in statements)  # titles from the catalogue

    older = await client.get(
        f"/applications?cursor={_links(first.text)['next']}", headers={**ALICE, **HTML}
    )
    assert _rows(older.text) == [ids[0]]
    assert "Older applications" not in older.text
    newer = await client.get(
        f"/applications?cursor={_links(older.text)['prev']}", headers={**ALICE, **HTML}
    )
    assert _rows(newer.text) == ids[::-1][:20]
    assert "Open a restaurant" in newer.text


async def test_a_cursor_from_another_citizens_list_shows_only_your_own(
    client: httpx.AsyncClient,
) -> None:
    ids = await apply(client, 21)
    first = await client.get("/applications", headers={**ALICE, **HTML})
    cursor = _links(first.text)["next"]
    bob = await client.get(f"/applications?cursor={cursor}", headers={**BOB, **HTML})
    assert bob.status_code == 200
    assert not set(_rows(bob.text)) & set(ids)
    # A cursor naming a moment after every application still lists only Bob's (none).
    forged = Cursor.decode(cursor)
    later = Cursor("before", forged.at.replace(year=2000), ids[0]).encode()
    assert (
        _rows((await client.get(f"/applications?cursor={later}", headers={**BOB, **HTML})).text)
        == []
    )


async def test_a_cursor_that_is_not_one_is_refused_in_words(client: httpx.AsyncClient) -> None:
    await apply(client, 1)
    page = await client.get("/applications?cursor=not-a-cursor", headers={**ALICE, **HTML})
    assert page.status_code == 400
    assert "That page of your applications no longer exists." in page.text
    assert len(_rows(page.text)) == 1
