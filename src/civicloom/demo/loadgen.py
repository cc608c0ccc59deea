"""The demo load generator: N realistic "Open a restaurant" applications, end to end.

Each application goes the way a citizen's would: a portal draft, once-only prefill with
consent, the remaining answers, submission; the real case engine runs the department steps;
officers decide inspections, workplace reviews and the licence (a few refusals); the fee is
paid; the licence is issued. With the in-process departments the run happens on a simulated
clock (applications spread over the past weeks, officers taking hours to days) so the KPIs
show realistic durations; with the real simulators it runs in real time.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from civicloom.applications import (
    OfficerDecision,
    TaskView,
    claim_task,
    complete_external_step,
    decide_task,
    find_application,
    tasks_of_application,
)
from civicloom.departments import (
    CapabilityCall,
    CapabilityGateway,
    ExternalCompletion,
    InProcessGateway,
)
from civicloom.identity import ScopedPrincipal
from civicloom.kernel import Clock, Principal
from civicloom.portal import (
    apply_prefill,
    save_answers,
    start_draft,
    submit_draft,
)
from civicloom.runtime import Container

SERVICE = "open-a-restaurant"
COMMERCIAL = ("P-0042-117", "P-0042-412", "P-0042-200")
RESIDENTIAL = "P-0042-305"
ARREARS = "BR-2021-000666"  # the tax simulator's business in arrears
WINDOW_DAYS = 50

# Each department's demo officer with the step role their review steps ask for.
OFFICERS = {
    dept: Principal(subject, name, frozenset({"officer", role}), dept, "loadgen")
    for dept, subject, name, role in (
        ("local-admin", "olivia", "Olivia Grant", "licensing-officer"),
        ("environment", "elena", "Elena Rossi", "inspector"),
        ("labour", "lars", "Lars Nilsson", "labour-officer"),
        ("tax", "tariq", "Tariq Hussain", "tax-officer"),
    )
}

Drive = Callable[[], Awaitable[int]]


class SimulatedClock:
    """A clock the load generator moves forward; never later than the real time."""

    def __init__(self, start: datetime | None = None) -> None:
        self.start = start or datetime.now(UTC) - timedelta(days=WINDOW_DAYS + 10)
        self.at = self.start

    def now(self) -> datetime:
        """The simulated time."""
        return self.at

    def advance(self, delta: timedelta) -> None:
        """Move forward, but not into the future."""
        self.at = min(self.at + delta, datetime.now(UTC))


@dataclass
class LoadReport:
    """What a run did."""

    mode: str
    submitted: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    officer_decisions: int = 0
    payments: int = 0
    application_ids: list[str] = field(default_factory=list)


# How long each department's system takes to answer, in hours (on the simulated clock).
ANSWER_HOURS = {
    "local-admin": (0.1, 2.0),
    "tax": (0.02, 0.2),
    "environment": (2.0, 30.0),
    "labour": (0.5, 6.0),
}


def demo_gateway(clock: SimulatedClock | None = None, seed: int = 11) -> InProcessGateway:
    """The four departments' capabilities, in process, answering as the simulators do; with a
    simulated clock each answer takes the department's usual time."""
    rng = random.Random(seed)

    def took(call: CapabilityCall) -> None:
        if clock is not None and not call.idempotency_key.startswith("prefill:"):
            low, high = ANSWER_HOURS.get(call.department, (0.1, 1.0))
            clock.advance(timedelta(hours=rng.uniform(low, high)))

    async def business(call: CapabilityCall) -> dict[str, Any]:
        took(call)
        number = str(call.input.get("registration_number"))
        return {
            "name": f"Business {number[-6:]} Ltd",
            "status": "active",
            "director_name": f"Director {number[-3:]}",
            "director_person_id": None,
            "registered_address": "1 Market Street, Riverton",
        }

    async def zoning(call: CapabilityCall) -> dict[str, Any]:
        took(call)
        residential = call.input.get("parcel_id") == RESIDENTIAL
        zone = "residential" if residential else "commercial"
        return {"zone": zone, "allowed": not residential, "reason": None}

    async def clearance(call: CapabilityCall) -> dict[str, Any]:
        took(call)
        number = str(call.input.get("registration_number"))
        status = "arrears" if number == ARREARS else "cleared"
        return {"registration_number": number, "status": status, "checked_at": "now"}

    async def screening(call: CapabilityCall) -> dict[str, Any]:
        took(call)
        seats, trap = int(call.input.get("seating") or 0), bool(call.input.get("grease_trap"))
        outcome = "inspection_required" if seats > 50 or not trap else "cleared"
        return {
            "screening_id": f"ENV-{call.idempotency_key[-8:]}",
            "outcome": outcome,
            "reasons": [],
        }

    async def employer(call: CapabilityCall) -> dict[str, Any]:
        took(call)
        staff = int(call.input.get("staff_count") or 0)
        number = str(call.input.get("registration_number"))
        return {
            "status": "registered",
            "registration_number": number,
            "employer_number": f"EMP-{number[-6:]}",
            "review_required": staff > 10,
        }

    async def register(call: CapabilityCall) -> dict[str, Any]:
        took(call)
        return {"reference": f"LA-ACT-{call.idempotency_key[-8:]}"}

    return InProcessGateway(
        {
            "local-admin.business_lookup": business,
            "local-admin.zoning_check": zoning,
            "tax.clearance_check": clearance,
            "environment.screening": screening,
            "labour.register_employer": employer,
            "local-admin.register_activity": register,
        }
    )


def applicant(i: int, rng: random.Random) -> tuple[ScopedPrincipal, dict[str, Any]]:
    """A business representative and the answers they type (the rest is prefilled)."""
    number = ARREARS if rng.random() < 0.05 else f"BR-2020-{rng.randint(1, 300):06d}"
    seating = rng.choice([20, 30, 40, 45, 60, 80, 120])
    # the business register's director applies: once-only prefill checks representation there
    director = "person-rusty" if number == ARREARS else f"person-{number[-6:]}"
    who = ScopedPrincipal(
        subject=director,
        display_name=f"Applicant {i}",
        roles=frozenset({"citizen", "business-representative"}),
        authenticated_by="loadgen",
        mandates=frozenset({number}),
    )
    answers = {
        "parcel_id": RESIDENTIAL if rng.random() < 0.07 else rng.choice(COMMERCIAL),
        "premises_address": f"{rng.randint(1, 300)} High Street, Riverton",
        "seating": seating,
        "grease_trap": rng.random() < 0.85,
        "staff_count": rng.choice([3, 5, 8, 10, 12, 18, 25]),
        "cuisine": rng.choice(["chinese", "italian", "indian", "french", "fusion", "other"]),
        "opening_date": "2099-06-01",
        "contact_email": f"owner{i}@example.org",
    }
    return who, answers


async def _settle(drive: Drive, rounds: int = 200) -> None:
    """Run the engine until nothing is due (or the round limit)."""
    idle = 0
    for _ in range(rounds):
        idle = idle + 1 if await drive() == 0 else 0
        if idle >= 2:
            return


async def _wait_departments(
    container: Container, drive: Drive, app_id: str, patience: float
) -> None:
    """Drive the engine until no department answer is outstanding (callbacks, batch files,
    message replies arrive on their own time), or until ``patience`` seconds have passed."""
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        tasks = await _open_tasks(container, app_id, ["ready", "running", "awaiting_external"])
        if all(t.kind == "payment" for t in tasks):
            return
        if await drive() == 0:
            await asyncio.sleep(0.2)


async def _open_tasks(container: Container, app_id: str, states: list[str]) -> list[TaskView]:
    async with container.uow() as uow:
        return await tasks_of_application(uow.session, app_id, states)


async def _state(container: Container, app_id: str) -> str:
    async with container.uow() as uow:
        found = await find_application(uow.session, app_id)
        return found.state if found else "missing"


async def run_one(
    container: Container,
    gateway: CapabilityGateway,
    drive: Drive,
    i: int,
    rng: random.Random,
    report: LoadReport,
    patience: float,
) -> None:
    """One application from draft to decision (and licence when approved)."""
    clock, uow = container.clock, container.uow
    who, answers = applicant(i, rng)
    draft = await start_draft(uow(), clock, who, SERVICE)
    await apply_prefill(uow(), clock, gateway, who, draft.id, consent=True)
    await save_answers(uow(), clock, who, draft.id, answers)
    view = await submit_draft(uow, clock, who, draft.id, gateway=gateway)
    report.submitted += 1
    report.application_ids.append(view.id)
    await _settle(drive)
    for _ in range(20):  # review rounds: inspection/labour review, then licensing, then payment
        await _wait_departments(container, drive, view.id, patience)
        if await _state(container, view.id) in ("approved", "rejected", "withdrawn", "failed"):
            break
        tasks = await _open_tasks(container, view.id, ["awaiting_officer", "awaiting_external"])
        officer = [t for t in tasks if t.state == "awaiting_officer"]
        payment = [t for t in tasks if t.kind == "payment" and t.state == "awaiting_external"]
        if not officer and not payment:
            await _settle(drive)
            continue
        for task in officer:
            officer_of = OFFICERS[task.department or "local-admin"]
            if task.assignee is None:  # the officer takes the task, works on it, then decides
                await claim_task(uow(), clock, officer_of, task.id)
            _advance(clock, _officer_hours(task.step_id, rng))
            refuse = task.step_id == "licensing_review" and rng.random() < 0.08
            await decide_task(
                uow(),
                clock,
                officer_of,
                task.id,
                OfficerDecision.REJECT if refuse else OfficerDecision.APPROVE,
                "The premises plan does not meet the fire safety code" if refuse else None,
            )
            report.officer_decisions += 1
        for task in payment:
            _advance(clock, rng.uniform(1, 30))
            await complete_external_step(
                container,
                ExternalCompletion(
                    idempotency_key=task.idempotency_key,
                    output={"paid_by": "loadgen", "amount": (task.input or {}).get("amount")},
                    received_from="payments",
                ),
            )
            report.payments += 1
        await _settle(drive)
    state = await _state(container, view.id)
    report.outcomes[state] = report.outcomes.get(state, 0) + 1


def _officer_hours(step: str, rng: random.Random) -> float:
    """How long an officer takes: mostly within the SLA, sometimes (a busy week) not."""
    if rng.random() < 0.12:
        return rng.uniform(80, 240)
    return rng.uniform(2, 40) if step == "licensing_review" else rng.uniform(4, 96)


def _advance(clock: Clock, hours: float) -> None:
    if isinstance(clock, SimulatedClock):
        clock.advance(timedelta(hours=hours))


async def run_loadgen(
    container: Container,
    gateway: CapabilityGateway,
    drive: Drive,
    count: int,
    seed: int = 7,
    clock: SimulatedClock | None = None,
    patience: float = 60.0,
    progress: Callable[[str], object] = print,
) -> LoadReport:
    """Run ``count`` applications one after another; ``gateway`` serves the prefill look-ups
    and ``drive`` runs one engine cycle (a worker's ``run_once``).

    With ``clock`` (in-process departments) the container's clock is that simulated clock for
    the run: each application starts on its own day of the 60 to 10 days before today, and
    time moves on as departments, applicants and officers act (never past the real time).
    """
    rng = random.Random(seed)
    report = LoadReport(mode="department simulators" if clock is None else "in-process departments")
    real_clock = container.clock
    if clock is not None:
        container.clock = clock
    try:
        for i in range(count):
            if clock is not None:  # each case starts on its own day; cases overlap as they would
                offset = timedelta(days=WINDOW_DAYS * i / count, hours=rng.uniform(0, 8))
                clock.at = clock.start + offset
            await run_one(container, gateway, drive, i, rng, report, patience)
            progress(f"application {i + 1}/{count}: {report.application_ids[-1]}")
    finally:
        container.clock = real_clock
    return report


async def gateway_reachable(gateway: CapabilityGateway) -> bool:
    """Whether every department system behind the gateway answers its health probe."""
    check = getattr(gateway, "check_all", None)
    if check is None:
        return False
    reports = await check()
    return bool(reports) and all(r.healthy for r in reports)
