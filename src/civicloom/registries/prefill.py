"""Once-only prefill: plan the register reads a form asks for, and read them under agreement,
consent and verified representation (the X-Road way: ask the source, never copy it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from civicloom.catalogue import (
    Blueprint,
    DataSharingAgreement,
    agreement_for,
    data_ref,
    is_ref,
)
from civicloom.departments import CallOutcome, CapabilityCall, CapabilityGateway
from civicloom.identity import mandates_of
from civicloom.kernel import Principal
from civicloom.observability import get_logger
from civicloom.registries.domain import (
    RegisterRead,
    Representation,
    representation_from_register,
)
from civicloom.registries.services import (
    active_consent,
    cached_representation,
    record_data_use,
    record_representation,
)

log = get_logger(__name__)
REGISTRATION_FIELD = "business_registration_number"


def plan_reads(
    blueprint: Blueprint,
    principal: Principal,
    data: dict[str, Any],
    agreements: Sequence[DataSharingAgreement],
    on: datetime,
) -> list[RegisterRead]:
    """Register look-ups the blueprint declares (``x-prefill``) whose input we can supply.

    The input is the ``x-prefill.input`` or, failing that, what the blueprint's own step calling
    the capability sends; ``$.data.<field>`` comes from the answers or the applicant's single
    mandate. A field no agreement in force covers is kept out (``refused``): the service owner
    reads only what an agreement lets it read.
    """
    properties: dict[str, Any] = blueprint.form.json_schema.get("properties", {})
    wanted: dict[str, dict[str, str]] = {}
    inputs: dict[str, dict[str, Any]] = {}
    asks: dict[str, set[str]] = {}
    for name, prop in properties.items():
        spec = prop.get("x-prefill") or {}
        if spec.get("capability"):
            wanted.setdefault(spec["capability"], {})[name] = str(spec.get("path", name))
            if spec.get("input"):
                inputs.setdefault(spec["capability"], dict(spec["input"]))
            asks.setdefault(spec["capability"], set()).update(spec.get("ask") or ())
    mandates = sorted(mandates_of(principal))
    agreements = tuple(agreements)
    plans = []
    for capability, fields in wanted.items():
        step = next((s for s in blueprint.steps if s.capability == capability), None)
        declared = inputs.get(capability) or (step.input if step else None)
        if not declared:
            continue
        resolved = _resolve(declared, data, mandates, asks.get(capability, set()))
        if resolved is None:
            continue
        call_input, keys, needs = resolved
        covered: dict[str, str] = {}
        refused: list[str] = []
        chosen: DataSharingAgreement | None = None
        for name, path in fields.items():
            found = agreement_for(agreements, capability, blueprint.owner, path, on.date())
            if found is None or (chosen is not None and found.id != chosen.id):
                refused.append(name)
            else:
                chosen, covered[name] = found, path
        if chosen is None:
            log.warning("prefill_refused", capability=capability, fields=sorted(refused))
            continue
        plans.append(
            RegisterRead(
                capability=capability,
                department=chosen.owner,
                input=call_input,
                fields=covered,
                keys=keys,
                agreement=chosen.id,
                consent_required=chosen.consent_required,
                refused=tuple(sorted(refused)),
                needs=needs,
            )
        )
    verifying = {a.id for a in agreements if a.verifies_representation}
    plans.sort(key=lambda p: p.agreement not in verifying)  # representation first
    return plans


def _resolve(
    declared: dict[str, Any], data: dict[str, Any], mandates: list[str], ask: set[str]
) -> tuple[dict[str, Any], dict[str, Any], tuple[str, ...]] | None:
    """The call's input from the answers (or the single mandate); None when it cannot be had.

    An unanswered field the x-prefill ``ask``s for is a need (asked on the consent page)."""
    call_input: dict[str, Any] = {}
    keys: dict[str, Any] = {}
    needs: list[str] = []
    for key, ref in declared.items():
        if not is_ref(ref):
            call_input[key] = ref  # a constant
            continue
        parsed = data_ref(ref)
        if parsed is None or parsed.field is None:
            return None  # a step's output or a decision: not known before the application
        name = parsed.field
        single = mandates[0] if len(mandates) == 1 and name == REGISTRATION_FIELD else None
        value = data.get(name) or single
        if value is None and name not in ask:
            return None
        if value is None:
            needs.append(name)
        elif name in ask:
            call_input[key] = value  # the applicant's own answer: not a filled field
        else:
            call_input[key], keys[name] = value, value
    return call_input, keys, tuple(needs)


@dataclass
class PrefillResult:
    """What the registers answered: values, their sources, and the reads made."""

    filled: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, dict[str, str]] = field(default_factory=dict)
    reads: list[RegisterRead] = field(default_factory=list)
    representation: Representation | None = None


@dataclass(frozen=True)
class PermittedRead:
    """A planned read an agreement in force (and, where it asks, a consent) allows."""

    plan: RegisterRead
    agreement: DataSharingAgreement
    consent_id: str | None

    @property
    def verifies_representation(self) -> bool:
        """Whether this is the business register representation is judged on."""
        return self.agreement.verifies_representation


@dataclass(frozen=True)
class ReadPermits:
    """What may be read, decided in a transaction before any register is called."""

    reads: tuple[PermittedRead, ...]
    registration_number: str | None
    representation: Representation | None  # already decided for this draft, if so


@dataclass(frozen=True)
class RegisterAnswer:
    """A register's answer to a permitted read."""

    read: PermittedRead
    answer: dict[str, Any]
    representation: Representation | None = None  # judged on this answer (business register)


@dataclass(frozen=True)
class RegisterAnswers:
    """Every answer of one prefill, in the order the registers were read."""

    permits: ReadPermits
    answers: tuple[RegisterAnswer, ...]


async def _call(
    gateway: CapabilityGateway, plan: RegisterRead, draft_id: str
) -> dict[str, Any] | None:
    try:
        result = await gateway.call(
            CapabilityCall(
                department=plan.department,
                capability=plan.capability,
                input=plan.input,
                idempotency_key=f"prefill:{draft_id}:{plan.capability}",
            )
        )
    except Exception as exc:  # a register that is down must not stop the form
        log.warning("prefill_unavailable", capability=plan.capability, error=type(exc).__name__)
        return None
    return dict(result.output) if result.outcome is CallOutcome.COMPLETED else None


async def permit_reads(
    session: AsyncSession,
    principal: Principal,
    *,
    draft_id: str,
    plans: Sequence[RegisterRead],
    agreements: Sequence[DataSharingAgreement],
    now: datetime,
) -> ReadPermits:
    """Which planned reads the agreements in force and the applicant's consents allow (in the
    caller's short transaction; no register is called here, ADR 0038)."""
    by_id = {a.id: a for a in agreements}
    number = next((p.keys[REGISTRATION_FIELD] for p in plans if REGISTRATION_FIELD in p.keys), None)
    representation = None
    if number is not None:
        representation = await cached_representation(
            session, principal.subject, str(number), draft_id
        )
    reads = []
    for plan in plans:
        if plan.needs:
            continue  # the applicant did not give what the register is asked by
        agreement = by_id.get(plan.agreement or "")
        if agreement is None or not agreement.in_force(now.date()):
            continue  # refused at run time as at validation
        consent_id = None
        if agreement.consent_required:
            consent = await active_consent(session, principal.subject, agreement.id, now)
            if consent is None:
                continue  # without consent nothing is read
            consent_id = consent.id
        reads.append(PermittedRead(plan, agreement, consent_id))
    return ReadPermits(tuple(reads), None if number is None else str(number), representation)


async def call_registers(
    gateway: CapabilityGateway,
    principal: Principal,
    permits: ReadPermits,
    *,
    draft_id: str,
    still_permitted: Callable[[PermittedRead], Awaitable[bool]] | None = None,
) -> RegisterAnswers:
    """Ask the registers (outside any database transaction): representation is judged on the
    business register first; once it is refused nothing more is read.

    ``still_permitted`` is asked before each read that rests on a consent (in its own short
    transaction), so a consent revoked while an earlier register answered stops the next read.
    """
    number, representation = permits.registration_number, permits.representation
    answers: list[RegisterAnswer] = []
    for read in permits.reads:
        if representation is Representation.REFUSED:
            break
        business = read.verifies_representation
        if number is not None and representation is None and not business:
            continue  # representation is judged on the business register first
        recheck = still_permitted if read.consent_id is not None else None
        if recheck is not None and not await recheck(read):
            continue  # the consent was revoked meanwhile
        answer = await _call(gateway, read.plan, draft_id)
        if answer is None:
            continue
        judged = None
        if business and number is not None and representation is None:
            judged = representation = representation_from_register(
                principal.subject,
                principal.display_name,
                number in mandates_of(principal),
                answer,
            )
        answers.append(RegisterAnswer(read, answer, judged))
    return RegisterAnswers(permits, tuple(answers))


async def record_reads(
    session: AsyncSession,
    principal: Principal,
    answers: RegisterAnswers,
    *,
    draft_id: str,
    now: datetime,
) -> PrefillResult:
    """Record every read that was made (a data-use entry each, and the representation judged)
    in the caller's short transaction, and fill from the answers.

    A consent revoked while the registers were being read fills nothing: the read is recorded
    (it happened), its answer is not used."""
    out = PrefillResult(representation=answers.permits.representation)
    number = answers.permits.registration_number
    for got in answers.answers:
        read, plan = got.read, got.read.plan
        if got.representation is not None and number is not None:
            out.representation = got.representation
            await record_representation(
                session,
                principal,
                number,
                draft_id,
                got.representation,
                now,
                department=plan.department,
            )
        await record_data_use(
            session,
            principal,
            draft_id=draft_id,
            agreement=read.agreement,
            consent_id=read.consent_id,
            fields=list(plan.fields.values()),
            now=now,
        )
        if out.representation is Representation.REFUSED:
            break  # the read is recorded; nothing of someone else's business is filled
        if read.consent_id is not None and (
            await active_consent(session, principal.subject, read.agreement.id, now) is None
        ):
            continue  # revoked meanwhile: nothing read under it is used
        out.reads.append(plan)
        for name, value in plan.keys.items():
            out.filled[name] = value
            out.sources[name] = {"department": plan.department, "kind": "mandate"}
        for name, path in plan.fields.items():
            value = got.answer.get(path)
            if value not in (None, ""):
                out.filled[name] = value
                out.sources[name] = {"department": plan.department, "kind": "register"}
    return out
