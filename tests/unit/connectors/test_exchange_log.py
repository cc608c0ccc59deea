"""A department exchange is logged by metadata: the task key that answers a step never appears
(whoever reads the logs must not be able to complete a step with it, ADR 0032)."""

from __future__ import annotations

from structlog.testing import capture_logs

from civicloom.connectors.base import log_exchange
from civicloom.departments import CapabilityCall

KEY = "k7Qe2v9XfLr0pZt4-task-key-that-answers-a-step"


def test_the_exchange_log_names_the_call_but_not_its_key() -> None:
    call = CapabilityCall("tax", "tax.clearance_check", {"registration_number": "B-1"}, KEY)
    with capture_logs() as logs:
        log_exchange(call, "rest", outcome="ok", elapsed_ms=1.5, request=b"{}", response=b"{}")
    [entry] = logs
    assert entry["event"] == "connector_exchange"
    assert entry["capability"] == "tax.clearance_check"
    assert KEY not in repr(entry)
    assert len(entry["key_sha256"]) == 16
