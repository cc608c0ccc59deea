"""Service blueprints: loading, versions and form validation."""

from civicloom.catalogue.domain import Blueprint, BlueprintStatus, PublishedBlueprint
from civicloom.catalogue.forms import validate_form_data
from civicloom.catalogue.loader import load_blueprint_file, load_blueprints
from civicloom.catalogue.services import (
    get_blueprint_version,
    get_current_blueprint,
    list_current_blueprints,
    publish_blueprint,
)
from civicloom.catalogue.tables import BlueprintVersionRow

__all__ = [
    "Blueprint",
    "BlueprintStatus",
    "BlueprintVersionRow",
    "PublishedBlueprint",
    "get_blueprint_version",
    "get_current_blueprint",
    "list_current_blueprints",
    "load_blueprint_file",
    "load_blueprints",
    "publish_blueprint",
    "validate_form_data",
]
