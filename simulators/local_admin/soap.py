"""The legacy SOAP 1.1 service (spyne), exposed as a WSGI application."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from spyne import Application, Boolean, ComplexModel, Fault, ServiceBase, Unicode, rpc
from spyne.protocol.soap import Soap11
from spyne.server.wsgi import WsgiApplication

from simulators.common.faults import FaultInjector
from simulators.common.ledger import Ledger
from simulators.local_admin.registry import LocalAdminRegistry, RegistryError

TNS = "urn:civicloom:sim:local-admin"
log = logging.getLogger("simulators.local_admin.soap")
Required = Unicode(min_occurs=1, nillable=False)


@dataclass
class SoapState:
    """What every SOAP call needs: registers, ledger and faults."""

    registry: LocalAdminRegistry
    ledger: Ledger
    faults: FaultInjector


class BusinessInfo(ComplexModel):  # type: ignore[misc]
    """Result of LookupBusiness."""

    __namespace__ = TNS
    name = Unicode
    status = Unicode
    director_name = Unicode
    director_person_id = Unicode
    registered_address = Unicode


class ZoningResult(ComplexModel):  # type: ignore[misc]
    """Result of CheckZoning."""

    __namespace__ = TNS
    zone = Unicode
    allowed = Boolean
    reason = Unicode


class ParcelInfo(ComplexModel):  # type: ignore[misc]
    """Result of LookupParcel: the land-parcel register's entry."""

    __namespace__ = TNS
    parcel_id = Unicode
    zone = Unicode
    address = Unicode


def _state(ctx: Any) -> SoapState:
    state: SoapState = ctx.udc
    return state


def _gate(state: SoapState) -> bool:
    """Apply request faults as SOAP faults; return True when the answer must be malformed."""
    faults = state.faults
    latency = faults.seconds("latency_ms")
    if latency > 0:
        time.sleep(latency)
    if faults.value("down"):
        raise Fault(faultcode="Server.Unavailable", faultstring="simulated outage")
    if faults.roll("timeout_rate"):
        time.sleep(faults.seconds("timeout_ms"))
        raise Fault(faultcode="Server.Timeout", faultstring="simulated hang")
    if faults.roll("error_rate"):
        raise Fault(faultcode="Server.Unavailable", faultstring="simulated error")
    return faults.roll("malformed_rate")


def _business_fault(exc: RegistryError) -> Fault:
    kind = "Client.NotFound" if exc.code == "not_found" else f"Client.{exc.code.capitalize()}"
    return Fault(faultcode=kind, faultstring=exc.message)


def _apply(
    state: SoapState, key: str, capability: str, effect: Callable[[], dict[str, Any]]
) -> str:
    """Apply an effect once per idempotency key (a replay returns the stored reference)."""
    try:
        response, replayed = state.ledger.execute(key, capability, effect)
    except RegistryError as exc:
        raise _business_fault(exc) from exc
    log.info("%s key=%s replayed=%s", capability, key, replayed)
    reference: str = response["reference"]
    return reference


class LocalAdminService(ServiceBase):  # type: ignore[misc]
    """Business register and land-use operations of the Local Administration."""

    @rpc(Required, _returns=BusinessInfo)  # type: ignore[untyped-decorator]
    def LookupBusiness(ctx: Any, registration_number: str) -> BusinessInfo:  # noqa: N802, N805
        """Look up a business in the register."""
        state = _state(ctx)
        malformed = _gate(state)
        try:
            b = state.registry.lookup_business(registration_number)
        except RegistryError as exc:
            raise _business_fault(exc) from exc
        if malformed:
            return BusinessInfo(status=b["status"])
        return BusinessInfo(
            name=b["name"],
            status=b["status"],
            director_name=b["director_name"],
            director_person_id=b["director_person_id"],
            registered_address=b["registered_address"],
        )

    @rpc(Required, Required, _returns=ZoningResult)  # type: ignore[untyped-decorator]
    def CheckZoning(ctx: Any, parcel_id: str, activity: str) -> ZoningResult:  # noqa: N802, N805
        """Check whether an activity is permitted on a parcel."""
        state = _state(ctx)
        malformed = _gate(state)
        result = state.registry.check_zoning(parcel_id, activity)
        if malformed:
            return ZoningResult(zone=result["zone"])
        return ZoningResult(**result)

    @rpc(Required, _returns=ParcelInfo)  # type: ignore[untyped-decorator]
    def LookupParcel(ctx: Any, parcel_id: str) -> ParcelInfo:  # noqa: N802, N805
        """Look up a parcel in the land-parcel register (a read, logged)."""
        state = _state(ctx)
        malformed = _gate(state)
        try:
            parcel = state.registry.lookup_parcel(parcel_id)
        except RegistryError as exc:
            raise _business_fault(exc) from exc
        log.info("LookupParcel parcel=%s", parcel_id)
        if malformed:
            return ParcelInfo(parcel_id=parcel["parcel_id"])
        return ParcelInfo(**parcel)

    @rpc(Required, Required, Required, Required, _returns=Unicode)  # type: ignore[untyped-decorator]
    def RegisterActivity(  # noqa: N802
        ctx: Any,  # noqa: N805
        idempotency_key: str,
        registration_number: str,
        parcel_id: str,
        activity: str,
    ) -> str | None:
        """Register a business activity at a parcel; returns a reference."""
        state = _state(ctx)
        if _gate(state):
            return None
        return _apply(
            state,
            idempotency_key,
            "local_admin.register_activity",
            lambda: state.registry.register_activity(
                idempotency_key, registration_number, parcel_id, activity
            ),
        )

    @rpc(Required, Required, Required, Required, _returns=Unicode)  # type: ignore[untyped-decorator]
    def UpdateBusinessAddress(  # noqa: N802
        ctx: Any,  # noqa: N805
        idempotency_key: str,
        registration_number: str,
        parcel_id: str,
        new_address: str,
    ) -> str | None:
        """Change a business's registered address; returns a reference."""
        state = _state(ctx)
        if _gate(state):
            return None
        return _apply(
            state,
            idempotency_key,
            "local_admin.update_address",
            lambda: state.registry.update_address(
                idempotency_key, registration_number, parcel_id, new_address
            ),
        )


def build_wsgi(state: SoapState) -> WsgiApplication:
    """Create the spyne WSGI application bound to ``state``."""
    app = Application(
        [LocalAdminService],
        tns=TNS,
        name="LocalAdministration",
        in_protocol=Soap11(validator="lxml"),
        out_protocol=Soap11(),
    )

    def bind(ctx: Any) -> None:
        ctx.udc = state

    app.event_manager.add_listener("method_call", bind)
    return WsgiApplication(app)
