"""English left in a Chinese text, Chinese left in an English one (issue 19).

A Chinese page or message that shows English has fallen back to the untranslated words: a run
of Latin-letter words is what such a fallback looks like. What may stay in Latin letters is
removed first: links, e-mail addresses, references and other identifiers, and the few proper
names the caller allows (the demo business and person, "civicloom").

A step id of the demo's blueprints is an id left in the text even when it is one word
("payment", "inspection"): English reads it as a word, so a Chinese text must not show it at
all, however short the run it stands in."""

from __future__ import annotations

import re
from collections.abc import Iterable
from html.parser import HTMLParser
from pathlib import Path

import yaml

BLUEPRINTS = Path(__file__).resolve().parents[1] / "blueprints"

URL = re.compile(r"https?://[^\s<>\"'，。）]+|/[a-z0-9_./?=&%-]*[a-z0-9/]", re.IGNORECASE)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# References, registration and parcel numbers, licence ids: letters joined to digits.
IDENTIFIER = re.compile(
    r"\b(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9]+(?:[-_][A-Za-z0-9]+)+\b|\b[A-Za-z]*\d[A-Za-z0-9]*\b"
)
# Words and the separators that keep them one phrase (a space, an apostrophe, ASCII punctuation).
RUN = re.compile(r"[A-Za-z][A-Za-z'’]*(?:[ \t,.;:!?&/()\"'-]+[A-Za-z][A-Za-z'’]*)*")
WORD = re.compile(r"[A-Za-z][A-Za-z'’]*")
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\u3000-\u303f\uff01-\uff5e]")
# Written the same in every language.
ALWAYS = (
    "civicloom",
    "GOV.UK",
    "EUR",
    "PDF",
    "JPEG",
    "PNG",
    "SMS",
    "QR",
    "ID",
    "API",
    "OpenID",
    "Golden Dragon Kitchen Ltd",
    "Golden Dragon Kitchen",
    "Alice Chen",
    "12 Harbour Street, Riverton",
    "12 Harbour Street",
)


def step_ids(blueprints: Path = BLUEPRINTS) -> frozenset[str]:
    """The step ids of the blueprints' services, read from the blueprint files."""
    found: set[str] = set()
    for path in sorted(blueprints.glob("services/*/blueprint.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        found |= {str(step["id"]) for step in doc.get("steps") or []}
    return frozenset(found)


# a step id as a word of its own: not part of a longer id ("payment_retry", "licence-check")
STEP_ID = re.compile(
    r"(?<![\w-])(?:"
    + "|".join(sorted(map(re.escape, step_ids()), key=len, reverse=True))
    + r")(?![\w-])"
)


# a step id with a Latin-letter word beside it is a word of an English phrase ("tax id",
# "Restaurant licence": data recorded in English), not an id standing in for a title
IN_A_PHRASE = re.compile(r"[A-Za-z][\w-]*[ \t]+$|^[ \t]+[A-Za-z]")


def step_ids_in(text: str) -> list[str]:
    """The demo blueprints' step ids standing as words of their own in a text (links and
    addresses taken out, a word of an English phrase left to ``english_runs``): in a Chinese
    text each is an id shown instead of the step's title."""
    text = EMAIL.sub(" ", URL.sub(" ", text))
    return sorted(
        {
            m.group(0)
            for m in STEP_ID.finditer(text)
            if not IN_A_PHRASE.search(text[max(0, m.start() - 40) : m.start()])
            and not IN_A_PHRASE.search(text[m.end() : m.end() + 40])
        }
    )


def english_runs(text: str, allowed: Iterable[str] = (), min_words: int = 2) -> list[str]:
    """The runs of at least ``min_words`` Latin-letter words left once links, addresses,
    identifiers and the allowed names are taken out; and every step id of the demo's
    blueprints left in the text and not already in such a run (an id, however short)."""
    for token in sorted({*ALWAYS, *allowed}, key=len, reverse=True):
        text = text.replace(token, " · ")
    text = EMAIL.sub(" · ", URL.sub(" · ", text))
    text = IDENTIFIER.sub(" · ", text)
    runs = []
    for match in RUN.finditer(text):
        run = match.group(0).strip(" \t,.;:!?&/()\"'-")
        if len(WORD.findall(run)) >= min_words:
            runs.append(run)
    shown = " ".join(runs)
    for step in sorted(set(STEP_ID.findall(text))):  # "payment", "licensing_review"
        if not re.search(rf"(?<![\w-]){step}(?![\w-])", shown):
            runs.append(step)
    return runs


def chinese_in(text: str) -> list[str]:
    """The Chinese characters in a text (an English rendering must have none)."""
    return HAN.findall(text)


class _Visible(HTMLParser):
    """The text a reader sees: not scripts, styles, attribute values, identifiers set as code
    (shown on purpose, as the browser check reads pages) or English quotations."""

    SKIP = frozenset({"script", "style", "template", "noscript", "code"})
    VOID = frozenset({"br", "img", "input", "meta", "link", "hr", "source", "wbr", "col"})

    def __init__(self, hide_lang: str) -> None:
        super().__init__(convert_charrefs=True)
        self.hide_lang = hide_lang
        self.stack: list[tuple[str, bool]] = []
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.VOID:
            self.parts.append("\n")
            return
        hidden = tag in self.SKIP or dict(attrs).get("lang") == self.hide_lang
        self.stack.append((tag, hidden or (bool(self.stack) and self.stack[-1][1])))
        self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            if self.stack.pop()[0] == tag:
                break
        self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not (self.stack and self.stack[-1][1]):
            self.parts.append(data)


def visible_text(html: str, hide_lang: str = "en") -> str:
    """A page's visible text, one element per line (runs never join across elements), without
    the elements marked as written in ``hide_lang`` (a quotation in the other language)."""
    parser = _Visible(hide_lang)
    parser.feed(html)
    parser.close()
    body = "".join(parser.parts)
    return "\n".join(line.strip() for line in body.splitlines() if line.strip())
