"""Decision models owned by departments (GoRules JDM, evaluated by zen-engine)."""

from civicloom.rules.book import (
    RULE_BOOK,
    RuleBook,
    evaluate,
)
from civicloom.rules.domain import (
    CaseResult,
    Decision,
    DecisionModel,
    ModelMetadata,
    ModelRef,
    ModelStatus,
    RuleFired,
    TestCase,
    TestReport,
)
from civicloom.rules.engine import CompiledModel, ModelError, run_tests
from civicloom.rules.loader import load_model_file, load_models, model_files
from civicloom.rules.publishing import (
    ModelTestsFailed,
    PublishResult,
    publish_decision_model,
    publish_model,
    retire_decision_model,
    retire_model,
)
from civicloom.rules.services import (
    RecordedDecision,
    decisions_per_department,
    list_decisions,
    record_decision,
    recorded_evaluations,
)
from civicloom.rules.whatif import ChangedOutcome, WhatIfReport, replay

__all__ = [
    "RULE_BOOK",
    "CaseResult",
    "ChangedOutcome",
    "CompiledModel",
    "Decision",
    "DecisionModel",
    "ModelError",
    "ModelMetadata",
    "ModelRef",
    "ModelStatus",
    "ModelTestsFailed",
    "PublishResult",
    "RecordedDecision",
    "RuleBook",
    "RuleFired",
    "TestCase",
    "TestReport",
    "WhatIfReport",
    "decisions_per_department",
    "evaluate",
    "list_decisions",
    "load_model_file",
    "load_models",
    "model_files",
    "publish_decision_model",
    "publish_model",
    "record_decision",
    "recorded_evaluations",
    "replay",
    "retire_decision_model",
    "retire_model",
    "run_tests",
]
