"""The staff directory names every role in words (issue 19): in Simplified Chinese Mei Lin is a
"柜台办事员" and Ruth Adeyemi a "规则负责人", never ``counter-officer`` or ``rule-owner``."""

from __future__ import annotations

import httpx
import yaml

from tests.conftest import as_persona
from tests.english import BLUEPRINTS, english_runs, visible_text

PEOPLE = tuple(
    p["name"]
    for p in yaml.safe_load((BLUEPRINTS / "demo" / "personas.yaml").read_text(encoding="utf-8"))[
        "personas"
    ]
)


async def test_the_directory_names_roles_in_chinese(client: httpx.AsyncClient) -> None:
    page = await client.get(
        "/backoffice/directory",
        headers={**as_persona("hana"), "Accept": "text/html", "Accept-Language": "zh-Hans"},
    )
    assert page.status_code == 200
    text = visible_text(page.text, "en")
    assert "柜台办事员" in text
    assert "规则负责人" in text
    assert "counter-officer" not in text
    assert "rule-owner" not in text
    assert english_runs(text, PEOPLE) == []
