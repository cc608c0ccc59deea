"""The citizen portal: find a service, apply once, follow every department on one page."""

from civicloom.portal.counter import (
    IdentityCheck,
    apply_at_counter,
    counter_upload_target,
    take_over,
)
from civicloom.portal.feedback import FeedbackReport, feedback_report
from civicloom.portal.forms import FormField, FormPage, form_pages, parse_page
from civicloom.portal.pages import portal_router
from civicloom.portal.pages.eligibility import Outcome, Precheck, precheck_of
from civicloom.portal.queries import (
    ApplicationSummary,
    application_page,
    my_applications,
    prefilled_sources,
)
from civicloom.portal.retention import PurgedDraft, purge_expired_drafts
from civicloom.portal.services import (
    Draft,
    apply_prefill,
    current_agreements,
    discard_draft,
    get_draft,
    list_drafts,
    prefill_plans,
    save_answers,
    start_draft,
    submit_draft,
)

__all__ = [
    "ApplicationSummary",
    "Draft",
    "FeedbackReport",
    "FormField",
    "FormPage",
    "IdentityCheck",
    "Outcome",
    "Precheck",
    "PurgedDraft",
    "application_page",
    "apply_at_counter",
    "apply_prefill",
    "counter_upload_target",
    "current_agreements",
    "discard_draft",
    "feedback_report",
    "form_pages",
    "get_draft",
    "list_drafts",
    "my_applications",
    "parse_page",
    "portal_router",
    "precheck_of",
    "prefill_plans",
    "prefilled_sources",
    "purge_expired_drafts",
    "save_answers",
    "start_draft",
    "submit_draft",
    "take_over",
]
