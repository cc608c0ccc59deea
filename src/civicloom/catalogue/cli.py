"""``civicloom blueprint …``: validate, describe, diagram, publish and list service blueprints."""

from __future__ import annotations

import json

import typer
from rich.console import Console

from civicloom.catalogue.domain import Blueprint

console = Console()
app = typer.Typer(
    help="Service blueprints: validate, schema, diagram, publish, list.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.command("schema")
def schema() -> None:
    """Print the JSON Schema of the blueprint format."""
    print(json.dumps(Blueprint.model_json_schema(by_alias=True), indent=2, ensure_ascii=False))
