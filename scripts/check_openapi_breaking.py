"""Breaking changes of the public API against its committed contract (run by ``make lint``).

Regenerates the OpenAPI document from the app (or reads ``--head FILE``) and compares it with
the committed ``docs/reference/openapi.json`` (or ``--base FILE``). A client written against
the committed document must keep working, so these fail, each listed on its own line:

- a removed path or operation, or a removed response status code;
- a request that now needs more: a new required body field or parameter, a narrower type;
- a response that now gives less: a removed field, a field no longer always present, a wider
  type (a client reading a string must not be handed a null).

Additions (paths, operations, optional request fields, response fields, status codes) pass.
After an intended breaking change, publish a new version of the API (``/api/v2``) rather than
regenerating the committed document over the old one (ADR 0051).

Usage: ``python scripts/check_openapi_breaking.py [--base FILE] [--head FILE]``; exit 1 on a
breaking change.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "docs" / "reference" / "openapi.json"
METHODS = ("get", "put", "post", "patch", "delete")
MAX_DEPTH = 8

Schema = dict[str, Any]


class Comparison:
    """Walks two OpenAPI documents and collects what would break a client of the first."""

    def __init__(self, base: dict[str, Any], head: dict[str, Any]) -> None:
        self.base, self.head = base, head
        self.breaks: list[str] = []

    def resolve(self, document: dict[str, Any], schema: Schema) -> Schema:
        """Follow local ``$ref``s (``#/components/...``)."""
        seen = 0
        while "$ref" in schema and seen < MAX_DEPTH:
            node: Any = document
            for part in str(schema["$ref"]).removeprefix("#/").split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
            schema, seen = node, seen + 1
        return schema

    def types(self, document: dict[str, Any], schema: Schema) -> frozenset[str]:
        """The JSON types a schema admits (empty: anything)."""
        schema = self.resolve(document, schema)
        if "anyOf" in schema or "oneOf" in schema:
            found: set[str] = set()
            for option in schema.get("anyOf") or schema.get("oneOf") or []:
                option_types = self.types(document, option)
                if not option_types:
                    return frozenset()
                found |= option_types
            return frozenset(found)
        declared = schema.get("type")
        if declared is None:
            return frozenset()
        names = {declared} if isinstance(declared, str) else set(declared)
        if "number" in names:
            names.add("integer")
        return frozenset(names)

    def properties(self, document: dict[str, Any], schema: Schema) -> dict[str, Schema]:
        """An object schema's properties (of every ``allOf`` part, too)."""
        schema = self.resolve(document, schema)
        found = dict(schema.get("properties") or {})
        for part in schema.get("allOf") or []:
            found.update(self.properties(document, part))
        return found

    def required(self, document: dict[str, Any], schema: Schema) -> set[str]:
        """An object schema's required property names."""
        schema = self.resolve(document, schema)
        names = set(schema.get("required") or [])
        for part in schema.get("allOf") or []:
            names |= self.required(document, part)
        return names

    def items(self, document: dict[str, Any], schema: Schema) -> Schema | None:
        """An array schema's item schema."""
        items = self.resolve(document, schema).get("items")
        return items if isinstance(items, dict) else None

    def request(self, where: str, base: Schema, head: Schema, depth: int = 0) -> None:
        """What a client sends must still be accepted: nothing newly required or narrower."""
        if depth > MAX_DEPTH:
            return
        base_types, head_types = self.types(self.base, base), self.types(self.head, head)
        if head_types and (not base_types or not base_types <= head_types):
            self.breaks.append(
                f"{where}: request type narrowed from {_names(base_types)} to {_names(head_types)}"
            )
            return
        base_props, head_props = self.properties(self.base, base), self.properties(self.head, head)
        newly = self.required(self.head, head) - self.required(self.base, base)
        for name in sorted(newly):
            self.breaks.append(f"{where}: request field {name!r} is now required")
        for name in sorted(base_props.keys() & head_props.keys()):
            self.request(f"{where}.{name}", base_props[name], head_props[name], depth + 1)
        base_items, head_items = self.items(self.base, base), self.items(self.head, head)
        if base_items is not None and head_items is not None:
            self.request(f"{where}[]", base_items, head_items, depth + 1)

    def response(self, where: str, base: Schema, head: Schema, depth: int = 0) -> None:
        """What a client reads must still be there, with no type it did not expect."""
        if depth > MAX_DEPTH:
            return
        base_types, head_types = self.types(self.base, base), self.types(self.head, head)
        if base_types and (not head_types or not head_types <= base_types):
            self.breaks.append(
                f"{where}: response type widened from {_names(base_types)} to {_names(head_types)}"
            )
            return
        base_props, head_props = self.properties(self.base, base), self.properties(self.head, head)
        for name in sorted(base_props.keys() - head_props.keys()):
            self.breaks.append(f"{where}: response field {name!r} was removed")
        no_longer = self.required(self.base, base) - self.required(self.head, head)
        for name in sorted(no_longer & head_props.keys()):
            self.breaks.append(f"{where}: response field {name!r} is no longer always present")
        for name in sorted(base_props.keys() & head_props.keys()):
            self.response(f"{where}.{name}", base_props[name], head_props[name], depth + 1)
        base_items, head_items = self.items(self.base, base), self.items(self.head, head)
        if base_items is not None and head_items is not None:
            self.response(f"{where}[]", base_items, head_items, depth + 1)

    def parameters(self, where: str, base: dict[str, Any], head: dict[str, Any]) -> None:
        """Path, query and header parameters: none newly required, none narrowed."""
        before = {(p["in"], p["name"]): p for p in base.get("parameters") or []}
        after = {(p["in"], p["name"]): p for p in head.get("parameters") or []}
        for key, parameter in sorted(after.items()):
            old = before.get(key)
            label = f"{where}: {key[0]} parameter {key[1]!r}"
            if old is None:
                if parameter.get("required"):
                    self.breaks.append(f"{label} is new and required")
                continue
            if parameter.get("required") and not old.get("required"):
                self.breaks.append(f"{label} is now required")
            self.request(label, old.get("schema") or {}, parameter.get("schema") or {})

    def operation(self, where: str, base: dict[str, Any], head: dict[str, Any]) -> None:
        """One operation present in both documents."""
        self.parameters(where, base, head)
        base_body = _json_schema((base.get("requestBody") or {}).get("content"))
        head_body = _json_schema((head.get("requestBody") or {}).get("content"))
        if head_body is not None:
            if base_body is None:
                if (head.get("requestBody") or {}).get("required"):
                    self.breaks.append(f"{where}: a request body is now required")
            else:
                self.request(f"{where} body", base_body, head_body)
        base_responses, head_responses = base.get("responses") or {}, head.get("responses") or {}
        for code in sorted(base_responses):
            if code not in head_responses:
                self.breaks.append(f"{where}: response {code} was removed")
                continue
            if not code.startswith("2"):
                continue
            before = _json_schema(base_responses[code].get("content"))
            after = _json_schema(head_responses[code].get("content"))
            if before is not None and after is None:
                self.breaks.append(f"{where}: response {code} no longer has a JSON body")
            elif before is not None and after is not None:
                self.response(f"{where} {code}", before, after)

    def run(self) -> list[str]:
        """Every breaking change, in path order."""
        base_paths, head_paths = self.base.get("paths") or {}, self.head.get("paths") or {}
        for path in sorted(base_paths):
            if path not in head_paths:
                self.breaks.append(f"{path}: path was removed")
                continue
            for method in METHODS:
                if method not in base_paths[path]:
                    continue
                where = f"{method.upper()} {path}"
                if method not in head_paths[path]:
                    self.breaks.append(f"{where}: operation was removed")
                    continue
                self.operation(where, base_paths[path][method], head_paths[path][method])
        return self.breaks


def _names(types: frozenset[str]) -> str:
    return "|".join(sorted(types - {"integer"} if "number" in types else types)) or "any"


def _json_schema(content: dict[str, Any] | None) -> Schema | None:
    for media_type, body in (content or {}).items():
        if media_type.endswith("json") and isinstance(body.get("schema"), dict):
            return dict(body["schema"])
    return None


def breaking_changes(base: dict[str, Any], head: dict[str, Any]) -> list[str]:
    """What in ``head`` would break a client written against ``base``."""
    return Comparison(base, head).run()


def generated_document() -> dict[str, Any]:
    """The OpenAPI document the app serves now (as ``civicloom docs openapi`` writes it)."""
    from civicloom.bootstrap import build_app
    from civicloom.settings import Profile, Settings

    document: dict[str, Any] = json.loads(
        json.dumps(build_app(Settings(profile=Profile.TEST)).openapi())
    )
    return document


def main(argv: list[str] | None = None) -> int:
    """Compare and print every breaking change; 1 if there is any."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, default=COMMITTED, help="the committed contract")
    parser.add_argument("--head", type=Path, help="a document to check (default: the app's)")
    args = parser.parse_args(argv)
    base = json.loads(args.base.read_text(encoding="utf-8"))
    head = json.loads(args.head.read_text(encoding="utf-8")) if args.head else generated_document()
    breaks = breaking_changes(base, head)
    if breaks:
        print(f"{len(breaks)} breaking change(s) against {args.base}:", file=sys.stderr)
        for line in breaks:
            print(f"  - {line}", file=sys.stderr)
        return 1
    print(f"no breaking change against {args.base}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
