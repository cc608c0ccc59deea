"""Every text a decision model can show a person has its words in Chinese (issue 19, ADR 0070).

Officers read which rule fired, each output under its name and each reason code; citizens read
the pre-check's reasons and the fee band. For every rule of every published model of the demo:
its node's name, its description, each output's name and each text value it can produce is
said in Chinese with no English left, and in English with no Chinese."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from civicloom.rules import DecisionModel, ModelStatus, RuleBook
from tests.english import chinese_in, english_runs
from tests.unit.rules.helpers import DEMO_RULES

BOOK = RuleBook.from_directory(DEMO_RULES)
PUBLISHED = [m for m in BOOK.all_models() if m.metadata.status is ModelStatus.PUBLISHED]


def shown_texts(model: DecisionModel) -> Iterator[str]:
    """What a page or message may show of a model: names, descriptions, text outputs."""
    for node in model.content.get("nodes", []):
        content = node.get("content") or {}
        if node.get("type") == "decisionTableNode":
            yield str(node["name"])
            outputs = content.get("outputs", [])
            yield from (str(o["name"]) for o in outputs)
            for rule in content.get("rules", []):
                if rule.get("_description"):
                    yield str(rule["_description"])
                for o in outputs:
                    value = json.loads(rule.get(o["id"]) or "null")
                    if isinstance(value, str):
                        yield value
        elif node.get("type") == "expressionNode":
            yield str(node["name"])


def test_the_demo_publishes_the_four_departments_models() -> None:
    assert sorted(m.ref.key for m in PUBLISHED) == [
        "environment/inspection-routing",
        "labour/review-threshold",
        "local-admin/licence-fee",
        "local-admin/zoning-eligibility",
    ]


@pytest.mark.parametrize("model", PUBLISHED, ids=lambda m: str(m.ref))
def test_every_text_of_a_model_reads_in_chinese(model: DecisionModel) -> None:
    texts = sorted(set(shown_texts(model)))
    assert len(texts) >= 7  # the smallest demo model shows seven
    untranslated = {t: model.say(t, "zh-Hans") for t in texts}
    assert {t: z for t, z in untranslated.items() if english_runs(z, min_words=1)} == {}
    assert {t: e for t in texts if chinese_in(e := model.say(t, "en"))} == {}
    assert {t: BOOK.say(model.ref.key, t, "zh-Hans") for t in texts} == untranslated


def test_a_reason_code_reads_as_words_and_an_unknown_text_as_written() -> None:
    assert BOOK.say("local-admin/zoning-eligibility", "protected-land", "zh-Hans") == (
        "该地块为受保护绿地"
    )
    assert BOOK.say("local-admin/zoning-eligibility", "protected-land", "en") == (
        "The parcel is protected green land"
    )
    assert BOOK.say("local-admin/licence-fee", "small", "zh-Hans") == "小型，21 至 40 个座位"
    assert BOOK.say("local-admin/licence-fee", "not-a-code", "zh-Hans") == "not-a-code"
    assert BOOK.say("nobody/no-model", "small", "zh-Hans") == "small"
