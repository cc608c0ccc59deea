"""Service blueprints: format, loading, validation, step graph, diagrams and versions."""

from civicloom.catalogue.agreements import (
    Approval,
    DataSharingAgreement,
    agreement_for,
    load_agreements,
)
from civicloom.catalogue.calendar import HolidayCalendar, load_calendar
from civicloom.catalogue.context import Capability, CatalogueContext
from civicloom.catalogue.diagram import mermaid, svg
from civicloom.catalogue.domain import (
    Blueprint,
    BlueprintStatus,
    BlueprintVersionView,
    PublishedBlueprint,
)
from civicloom.catalogue.forms import validate_form_data
from civicloom.catalogue.graph import StepGraph, step_graph
from civicloom.catalogue.loader import load_blueprint_file, load_blueprints
from civicloom.catalogue.refs import (
    Ref,
    RefError,
    Root,
    data_ref,
    expression_refs,
    is_ref,
    parse_ref,
    refs_in,
    resolve,
)
from civicloom.catalogue.services import (
    blueprint_title_of,
    get_blueprint_version,
    get_current_blueprint,
    list_blueprint_versions,
    list_current_blueprints,
    publish_blueprint,
    publish_service_version,
    retire_blueprint,
    retire_service_version,
)
from civicloom.catalogue.spec import (
    DecisionCall,
    RetryPolicy,
    ServiceSpec,
    Sla,
    Step,
    StepKind,
    blueprint_json_schema,
)
from civicloom.catalogue.validation import (
    Problem,
    validate_blueprint_file,
    validate_blueprint_text,
)

__all__ = [
    "Approval",
    "Blueprint",
    "BlueprintStatus",
    "BlueprintVersionView",
    "Capability",
    "CatalogueContext",
    "DataSharingAgreement",
    "DecisionCall",
    "HolidayCalendar",
    "Problem",
    "PublishedBlueprint",
    "Ref",
    "RefError",
    "RetryPolicy",
    "Root",
    "ServiceSpec",
    "Sla",
    "Step",
    "StepGraph",
    "StepKind",
    "agreement_for",
    "blueprint_json_schema",
    "blueprint_title_of",
    "data_ref",
    "expression_refs",
    "get_blueprint_version",
    "get_current_blueprint",
    "is_ref",
    "list_blueprint_versions",
    "list_current_blueprints",
    "load_agreements",
    "load_blueprint_file",
    "load_blueprints",
    "load_calendar",
    "mermaid",
    "parse_ref",
    "publish_blueprint",
    "publish_service_version",
    "refs_in",
    "resolve",
    "retire_blueprint",
    "retire_service_version",
    "step_graph",
    "svg",
    "validate_blueprint_file",
    "validate_blueprint_text",
    "validate_form_data",
]
