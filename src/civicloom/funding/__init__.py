"""Funding shared platforms: daily usage facts, tariffs, statements and cost avoided."""

from civicloom.funding.api import funding_api_router, tariffs_of, to_csv
from civicloom.funding.domain import (
    Fact,
    Meter,
    Month,
    Statement,
    StatementLine,
    Tariff,
    Tariffs,
    build_statement,
    format_minor,
    load_tariffs,
)
from civicloom.funding.pages import funding_pages_router
from civicloom.funding.pdf import render_statement_pdf
from civicloom.funding.services import (
    build_recent_facts,
    cost_avoided,
    read_facts,
    read_statement,
    rebuild_days,
    statements,
)

__all__ = [
    "Fact",
    "Meter",
    "Month",
    "Statement",
    "StatementLine",
    "Tariff",
    "Tariffs",
    "build_recent_facts",
    "build_statement",
    "cost_avoided",
    "format_minor",
    "funding_api_router",
    "funding_pages_router",
    "load_tariffs",
    "read_facts",
    "read_statement",
    "rebuild_days",
    "render_statement_pdf",
    "statements",
    "tariffs_of",
    "to_csv",
]
