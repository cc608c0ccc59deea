"""Building every department's connector from its definition: the plugin registry."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from civicloom.connectors.amqp import AmqpConnector
from civicloom.connectors.base import ConnectorContext, Stopwatch, health
from civicloom.connectors.callback import CallbackConnector, CallbackVerifier
from civicloom.connectors.domain import (
    PRIMARY,
    CapabilitySpec,
    ConnectorSpec,
    DepartmentIntegration,
)
from civicloom.connectors.filedrop import FileDropConnector
from civicloom.connectors.rest import RestConnector
from civicloom.connectors.soap import SoapConnector
from civicloom.departments import Connector, Department, HealthReport, PermanentError
from civicloom.settings import Settings

ConnectorFactory = Callable[[ConnectorContext], Connector]

PLUGINS: dict[str, ConnectorFactory] = {
    "rest": RestConnector,
    "callback": CallbackConnector,
    "soap": SoapConnector,
    "amqp": AmqpConnector,
    "filedrop": FileDropConnector,
}


class ConnectorRegistry:
    """The connectors of every department and the capabilities they serve."""

    def __init__(
        self,
        integrations: Mapping[str, DepartmentIntegration],
        connectors: Mapping[tuple[str, str], Connector],
    ) -> None:
        self.integrations = dict(integrations)
        self.connectors = dict(connectors)

    def departments(self) -> list[str]:
        """Department ids with at least one connector."""
        return sorted(self.integrations)

    def connector(self, department: str, name: str = PRIMARY) -> Connector:
        """One connector of a department."""
        found = self.connectors.get((department, name))
        if found is None:
            raise PermanentError(f"department {department!r} has no connector {name!r}")
        return found

    def capability(self, department: str, capability: str) -> CapabilitySpec:
        """A declared capability, or a permanent error naming what is unknown."""
        integration = self.integrations.get(department)
        if integration is None:
            raise PermanentError(f"unknown department {department!r}")
        cap = integration.capabilities.get(capability)
        if cap is None:
            raise PermanentError(f"department {department!r} has no capability {capability!r}")
        return cap

    def capabilities(self) -> list[CapabilitySpec]:
        """Every declared capability."""
        return [c for i in self.integrations.values() for c in i.capabilities.values()]

    def connector_for(self, cap: CapabilitySpec) -> Connector:
        """The connector that serves a capability."""
        return self.connector(cap.department, cap.connector)

    def callback_verifiers(self) -> dict[str, CallbackVerifier]:
        """How each department with a callback connector signs its callbacks."""
        return {
            dept: conn.verifier()
            for (dept, _), conn in self.connectors.items()
            if isinstance(conn, CallbackConnector)
        }

    def event_sources(self) -> list[AmqpConnector]:
        """The message-based connectors (their departments may answer by event)."""
        return [c for c in self.connectors.values() if isinstance(c, AmqpConnector)]

    def file_exchanges(self) -> list[FileDropConnector]:
        """Connectors whose answers the worker must ``poll()`` for."""
        return [c for c in self.connectors.values() if isinstance(c, FileDropConnector)]

    async def check_all(self) -> list[HealthReport]:
        """Run every probe concurrently; a probe that raises is reported unhealthy."""

        async def probe(conn: Connector, dept: str) -> HealthReport:
            watch = Stopwatch()
            try:
                return await asyncio.wait_for(conn.check(), timeout=10)
            except Exception as exc:
                return health(dept, conn.kind, False, f"probe failed: {type(exc).__name__}", watch)

        items = sorted(self.connectors.items())
        return list(await asyncio.gather(*(probe(c, d) for (d, _), c in items)))

    async def close(self) -> None:
        """Close every connector."""
        for conn in self.connectors.values():
            await conn.close()


def _effective(spec: ConnectorSpec, settings: Settings) -> ConnectorSpec:
    """Without a broker (embedded profile) a messaging department uses its REST twin."""
    if spec.kind == "amqp" and not settings.amqp_url and spec.embedded_fallback is not None:
        fallback = spec.embedded_fallback
        if fallback.simulator is None:
            fallback = fallback.model_copy(update={"simulator": spec.simulator})
        return fallback
    return spec


def build_connectors(
    departments: Iterable[Department],
    settings: Settings,
    simulator_urls: Mapping[str, str] | None = None,
    *,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    plugins: Mapping[str, ConnectorFactory] | None = None,
) -> ConnectorRegistry:
    """Build a fresh registry; nothing connects until the first call or probe.

    ``overrides`` merge extra options into a connector, keyed ``"<department>"`` (primary) or
    ``"<department>:<name>"`` — for tests (queue prefixes, directories, short timeouts).
    """
    table = {**PLUGINS, **(plugins or {})}
    urls = dict(simulator_urls or {})
    integrations: dict[str, DepartmentIntegration] = {}
    connectors: dict[tuple[str, str], Connector] = {}
    for department in departments:
        if not department.connector:
            continue
        integration = DepartmentIntegration.of(department)
        integrations[department.id] = integration
        named = {PRIMARY: integration.connector, **integration.connector.secondary}
        for name, declared in named.items():
            spec = _effective(declared, settings)
            factory = table.get(spec.kind)
            if factory is None:
                raise PermanentError(f"{department.id}: unknown connector kind {spec.kind!r}")
            key = department.id if name == PRIMARY else f"{department.id}:{name}"
            base_url = settings.connector_base_urls.get(department.id) or (
                urls.get(spec.simulator) if spec.simulator else None
            )
            ctx = ConnectorContext(
                department=department.id,
                name=name,
                spec=spec,
                capabilities=dict(integration.capabilities),  # served if it has a binding
                settings=settings,
                base_url=base_url,
                overrides=dict((overrides or {}).get(key, {})),
            )
            connectors[(department.id, name)] = factory(ctx)
    return ConnectorRegistry(integrations, connectors)
