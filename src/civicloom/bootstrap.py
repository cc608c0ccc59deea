"""The composition root: the only place adapters are built and wired."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from fastapi import FastAPI
from pydantic import SecretStr

from civicloom.app import create_app
from civicloom.applications import StepRunner, complete_external_step, purge_closed_form_data
from civicloom.audit import FOLD_SECONDS, fold_reads, seal_now
from civicloom.catalogue import CALENDARS, Calendars, StepKind, load_register_catalogue
from civicloom.connectors import (
    CALLBACK_VERIFIERS,
    COMPLETION_HANDLER,
    ConnectorGateway,
    ConnectorRegistry,
    InstrumentedGateway,
    build_connectors,
    checked_handler,
    collect_batch_answers,
    dev_secret,
    keep_listening,
)
from civicloom.connectors.services import CompletionHandler
from civicloom.db import Database
from civicloom.departments import CAPABILITY_GATEWAY, CapabilityGateway, load_departments
from civicloom.documents import (
    DOCUMENTS_RUNTIME,
    DocumentsRuntime,
    build_documents_runtime,
    licence_step_handler,
    purge_expired_documents,
)
from civicloom.funding import build_recent_facts, load_tariffs
from civicloom.governance import Workspace, clear_finished_move_snapshots, publish_due_changes
from civicloom.govstack.pubsub import CaseEventBridge, PushDeliverer, purge_old_events
from civicloom.kernel import SystemClock
from civicloom.kpis import PERIOD_SECONDS as KPI_PERIOD_SECONDS
from civicloom.kpis import REFRESH_SECONDS as KPI_REFRESH_SECONDS
from civicloom.kpis import (
    compute_requested_periods,
    load_kpi_config,
    refresh_report_snapshots,
    refresh_service_days,
)
from civicloom.notifications import build_dispatcher
from civicloom.observability import METRICS, configure_logging, configure_tracing
from civicloom.outbox import Publisher
from civicloom.payments import PAYMENT_PROVIDER, build_provider
from civicloom.portal import purge_expired_drafts
from civicloom.rules import RULE_BOOK, RuleBook
from civicloom.runtime import Container
from civicloom.settings import PLACEHOLDER_SECRET, Profile, Settings, get_settings
from civicloom.web import IDENTITY_RUNTIME, build_identity_runtime
from civicloom.worker import (
    AmqpPublisher,
    LogPublisher,
    PeriodicJob,
    RecordRetention,
    Worker,
    purge_operational_records,
)


def build_container(settings: Settings | None = None, service_name: str = "civicloom") -> Container:
    """Configure logging and tracing and build the container with every component a process
    of any kind needs: documents runtime, payment provider, identity runtime (no connection is
    opened yet). Department connectors are wired separately (``wire_departments``)."""
    settings = with_generated_secrets(settings or get_settings())
    configure_logging(settings.log_level, settings.log_json)
    configure_tracing(service_name, settings.otel_exporter.value, settings.otel_endpoint)
    container = Container(
        settings=settings,
        database=Database(settings.effective_database_url, settings.db_pool_size),
        clock=SystemClock(),
        metrics=METRICS,
    )
    wire_foundations(container)
    return container


GENERATED_SECRETS = {"secret_key": "secret-key", "payments_webhook_secret": "payments.webhook"}
"""Settings whose development placeholder the embedded profile replaces with a secret generated
once per ``var_dir`` (``<var_dir>/dev-secrets/<name>``, shared by every process there)."""


def with_generated_secrets(settings: Settings) -> Settings:
    """In the embedded profile no secret is a known constant (ADR 0032): a setting left at the
    development placeholder becomes this ``var_dir``'s generated secret. Production refuses the
    placeholder (``Settings``); the test profile keeps what the tests set."""
    if settings.profile is not Profile.EMBEDDED:
        return settings
    update = {
        name: SecretStr(dev_secret(settings, file))
        for name, file in GENERATED_SECRETS.items()
        if getattr(settings, name).get_secret_value() == PLACEHOLDER_SECRET
    }
    return settings.model_copy(update=update) if update else settings


def wire_foundations(container: Container) -> None:
    """(Re)build the components every process derives from its settings: the documents
    runtime, the payment provider, the identity runtime, the rule book and the holiday calendars
    (the case engine reaches the last two through its unit of work, ``runtime.lent``)."""
    container.provide(DOCUMENTS_RUNTIME, build_documents_runtime(container.settings))
    container.provide(PAYMENT_PROVIDER, build_provider(container.settings))
    container.provide(IDENTITY_RUNTIME, build_identity_runtime(container))
    blueprints_dir = container.settings.blueprints_dir
    container.provide(RULE_BOOK, RuleBook.from_directory(blueprints_dir / "rules"))
    container.provide(CALENDARS, Calendars.from_directory(blueprints_dir))


def build_registry(settings: Settings) -> ConnectorRegistry:
    """Every department's connectors, from ``blueprints/departments`` (nothing connects yet)."""
    return build_connectors(
        load_departments(settings.blueprints_dir), settings, settings.simulator_urls()
    )


def build_gateway(settings: Settings, registry: ConnectorRegistry) -> ConnectorGateway:
    """The capability gateway the engine calls, with a breaker per department."""
    return ConnectorGateway(
        registry,
        failure_threshold=settings.breaker_failure_threshold,
        reset_seconds=settings.breaker_reset_seconds,
    )


def wire_departments(
    container: Container, registry: ConnectorRegistry, gateway: CapabilityGateway
) -> None:
    """Wire the departments' side: the gateway, how callbacks are verified, where answers go."""
    container.provide(CAPABILITY_GATEWAY, gateway)
    container.provide(CALLBACK_VERIFIERS, registry.callback_verifiers())
    handler: CompletionHandler = partial(complete_external_step, container)
    container.provide(COMPLETION_HANDLER, handler)
    container.on_close(registry.close)


def build_app(settings: Settings | None = None) -> FastAPI:
    """The web application for ``civicloom serve`` and tests."""
    container = build_container(settings, "civicloom-api")
    registry = build_registry(container.settings)
    wire_departments(container, registry, build_gateway(container.settings, registry))
    return create_app(container)


def build_publisher(settings: Settings) -> Publisher:
    """RabbitMQ when configured, else the structured log."""
    if settings.amqp_url:
        return AmqpPublisher(settings.amqp_url, settings.events_exchange)
    return LogPublisher()


def callback_url_for(settings: Settings, department: str) -> str:
    """Where an asynchronous department answers (the platform's signed-callback endpoint)."""
    return f"{settings.effective_public_url}/api/v1/callbacks/{department}"


def governance_workspace(container: Container) -> Workspace:
    """What change requests read and write: the blueprints directory and the process's rule
    book (ADR 0049)."""
    return Workspace(container.settings.blueprints_dir, container.get(RULE_BOOK))


def _periodic_jobs(container: Container, documents: DocumentsRuntime) -> list[PeriodicJob]:
    settings = container.settings

    async def seal() -> object:
        return await seal_now(container.uow(), container.clock, documents.keyring())

    async def fold() -> object:  # reads recorded by requests into their chains (ADR 0073)
        return await fold_reads(container.uow())

    async def purge() -> object:
        return await purge_expired_documents(container.uow(), documents.store, container.clock)

    draft_retention = load_register_catalogue(settings.blueprints_dir).draft_retention

    async def retention() -> object:
        # Each module purges its own rows (ADR 0027, ADR 0050, ADR 0057, ADR 0058): drafts,
        # answers, published pub/sub events, move records' copies of finished applications.
        drafts = await purge_expired_drafts(container.uow, container.clock, draft_retention)
        answers = await purge_closed_form_data(container.uow, container.clock)
        events = await purge_old_events(container, settings.pubsub_retention_days)
        moves = await clear_finished_move_snapshots(container.uow, container.clock)
        return len(drafts) + len(answers) + events + moves

    tariffs = load_tariffs(settings.blueprints_dir)

    async def usage_facts() -> object:
        return await build_recent_facts(
            container.uow(), container.clock, tariffs, settings.usage_facts_window_days
        )

    async def kpi_aggregates() -> object:
        return await refresh_service_days(container.uow())

    async def kpi_reports() -> object:
        return await refresh_report_snapshots(
            container.uow(), container.clock, load_kpi_config(settings.blueprints_dir)
        )

    async def kpi_periods() -> object:
        return await compute_requested_periods(
            container.uow(), container.clock, load_kpi_config(settings.blueprints_dir)
        )

    keep = RecordRetention(
        sent_messages=timedelta(hours=settings.sent_message_retention_hours),
        heartbeats=timedelta(hours=settings.heartbeat_retention_hours),
    )

    async def records() -> object:
        return await purge_operational_records(container.uow, container.clock, keep)

    async def changes() -> object:
        return await publish_due_changes(
            container.uow(), container.clock, governance_workspace(container)
        )

    return [
        PeriodicJob("change-publication", settings.change_publication_seconds, changes),
        PeriodicJob("audit-read-fold", FOLD_SECONDS, fold),
        PeriodicJob("audit-seal", settings.audit_seal_seconds, seal),
        PeriodicJob("usage-facts", settings.usage_facts_seconds, usage_facts),
        PeriodicJob("document-purge", settings.document_purge_seconds, purge),
        PeriodicJob("kpi-aggregates", KPI_REFRESH_SECONDS, kpi_aggregates),
        PeriodicJob("kpi-reports", settings.kpi_snapshot_seconds, kpi_reports, background=True),
        PeriodicJob("kpi-periods", KPI_PERIOD_SECONDS, kpi_periods, background=True),
        PeriodicJob("retention-purge", settings.retention_purge_seconds, retention),
        PeriodicJob("records-purge", settings.records_purge_seconds, records),
    ]


def build_worker(settings: Settings | None = None, worker_id: str | None = None) -> Worker:
    """A worker process's main object: the case engine's steps, batch files, the outbox, and
    the periodic audit seals and retention purges."""
    container = build_container(settings, "civicloom-worker")
    registry = build_registry(container.settings)
    documents = container.get(DOCUMENTS_RUNTIME)
    gateway = InstrumentedGateway(
        build_gateway(container.settings, registry), container.metrics.registry
    )
    wire_departments(container, registry, gateway)
    take_event = checked_handler(
        gateway.validate_completion, partial(complete_external_step, container)
    )
    pushes = PushDeliverer(container, documents.keyring)
    runner = StepRunner(
        container,
        gateway,
        handlers={StepKind.ISSUE_DOCUMENT: licence_step_handler(container, documents)},
        callback_url=partial(callback_url_for, container.settings),
    )
    return Worker(
        container,
        build_publisher(container.settings),
        worker_id=worker_id,
        runner=runner,
        collectors=[
            partial(
                collect_batch_answers,
                container.uow,
                container.clock,
                exchange,
                partial(complete_external_step, container),
            )
            for exchange in registry.file_exchanges()
        ]
        + [partial(keep_listening, source, take_event) for source in registry.event_sources()],
        resources=[pushes.close, container.close],
        periodic=_periodic_jobs(container, documents),
        subscribers=[build_dispatcher(container), CaseEventBridge(container), pushes],
    )


def uvicorn_app() -> FastAPI:
    """Factory for ``uvicorn --factory civicloom.bootstrap:uvicorn_app``."""
    return build_app()
