"""Typed settings: the only place where environment variables are read.

Every field carries a description; ``civicloom docs settings`` turns them into
``docs/reference/settings.md``.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Self

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    IPvAnyNetwork,
    SecretStr,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER_SECRET = "change-me-dev-only-secret"  # noqa: S105 - refused outside dev/test


class Profile(StrEnum):
    """How the platform is being run."""

    EMBEDDED = "embedded"
    PRODUCTION = "production"
    TEST = "test"


class OtelExporter(StrEnum):
    """Where OpenTelemetry spans go."""

    NONE = "none"
    CONSOLE = "console"
    OTLP = "otlp"


class ConfigurationError(ValueError):
    """The settings are unsafe or inconsistent for the chosen profile."""


class StaffGroup(BaseModel):
    """What one identity-provider group makes its members: a department and roles (ADR 0042)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    department: str | None = Field(None, pattern=r"^[a-z][a-z0-9-]{1,48}$")
    roles: tuple[str, ...] = Field(min_length=1)


class Settings(BaseSettings):
    """All configuration of a civicloom process (API, worker, CLI)."""

    model_config = SettingsConfigDict(
        env_prefix="CIVICLOOM_", env_file=None, extra="ignore", validate_default=True
    )

    profile: Profile = Field(
        Profile.EMBEDDED,
        description="`embedded` (SQLite, local simulators, dev login), `production` or `test`.",
    )
    var_dir: Path = Field(
        PROJECT_ROOT / "var",
        description="Directory for the embedded database, uploaded files and local mail.",
    )
    database_url: str = Field(
        "",
        description=(
            "SQLAlchemy async URL, e.g. `postgresql+asyncpg://user@host/db`. "
            "Empty means the embedded SQLite file `<var_dir>/civicloom.db`."
        ),
    )
    db_pool_size: int = Field(10, ge=1, description="Connections kept per process (PostgreSQL).")
    secret_key: SecretStr = Field(
        SecretStr(PLACEHOLDER_SECRET),
        description="Signs sessions and tokens. Must be set to a random value in production.",
    )
    dev_login: bool | None = Field(
        None,
        description=(
            "Allow the demo-persona login. Defaults to on in `embedded`/`test`, off in "
            "`production`, where turning it on refuses to start."
        ),
    )
    amqp_url: str = Field(
        "",
        description=(
            "RabbitMQ URL, e.g. `amqp://guest:guest@127.0.0.1:5672/`. Empty: events stay in "
            "the outbox log and the labour office is reached over REST."
        ),
    )
    events_exchange: str = Field(
        "civicloom.events", description="RabbitMQ topic exchange for CloudEvents."
    )
    amqp_queue_prefix: str = Field(
        "",
        max_length=60,
        description=(
            "Prefix of every department's AMQP queue and exchange name, so that runs sharing "
            "one RabbitMQ (e.g. concurrent test runs) never answer each other's requests. "
            "Empty in production; a department file's own `queue_prefix` wins."
        ),
    )
    host: str = Field("127.0.0.1", description="Address the API binds to.")
    port: int = Field(8000, ge=1, le=65535, description="Port the API binds to.")
    public_url: str = Field(
        "",
        description="Base URL citizens use (links in mail, QR codes). Default http://host:port.",
    )
    blueprints_dir: Path = Field(
        PROJECT_ROOT / "blueprints",
        description="Departments, service blueprints, decision models and demo data.",
    )
    migrations_dir: Path = Field(
        PROJECT_ROOT / "migrations", description="Alembic migration scripts."
    )
    max_body_bytes: int = Field(
        1_048_576, ge=1024, description="Largest JSON request body accepted (bytes)."
    )
    log_level: str = Field("INFO", description="Log level: DEBUG, INFO, WARNING, ERROR.")
    log_json: bool = Field(
        True, description="JSON log lines (true) or human-readable console lines (false)."
    )
    otel_exporter: OtelExporter = Field(
        OtelExporter.NONE, description="OpenTelemetry span exporter: none, console or otlp."
    )
    otel_endpoint: str = Field(
        "", description="OTLP/HTTP traces endpoint, e.g. `http://collector:4318/v1/traces`."
    )
    worker_poll_seconds: float = Field(
        0.5, gt=0, description="How often an idle worker looks for due work."
    )
    worker_batch_size: int = Field(50, ge=1, description="Outbox rows a worker claims at once.")
    worker_lease_seconds: float = Field(
        30.0, gt=0, description="How long a claim lasts before another worker may take it over."
    )
    worker_metrics_port: int = Field(
        0,
        ge=0,
        le=65535,
        description=(
            "Port on which a worker serves its own Prometheus metrics (connector latency and "
            "errors, outbox dispatches); 0 turns it off."
        ),
    )
    audit_seal_seconds: float = Field(
        300.0, gt=0, description="How often a worker seals the audit chains (signed Merkle root)."
    )
    audit_read_fold_warn_seconds: float = Field(
        300.0,
        gt=0,
        description=(
            "How long a recorded read of personal data may wait to be folded into its audit "
            "chain before `civicloom audit verify` warns (exit code 3) that the worker's "
            "`audit-read-fold` job (every 2 s) has stopped."
        ),
    )
    document_purge_seconds: float = Field(
        86_400.0, gt=0, description="How often a worker purges documents past their retention."
    )
    retention_purge_seconds: float = Field(
        86_400.0,
        gt=0,
        description=(
            "How often a worker deletes drafts and closed applications' answers whose retention "
            "(declared in the data catalogue) has ended."
        ),
    )
    kpi_snapshot_seconds: float = Field(
        300.0,
        gt=0,
        le=86_400,
        description=(
            "How often a worker recomputes every service's KPI report for the last 90 days; "
            "pages serve a stored report up to twice this old and recompute an older one "
            "(ADR 0061)."
        ),
    )
    records_purge_seconds: float = Field(
        3_600.0,
        gt=0,
        description=(
            "How often a worker deletes sent outbox messages, expired sessions and silent "
            "workers' heartbeats past their retention (audited as a count per table)."
        ),
    )
    sent_message_retention_hours: float = Field(
        168.0,
        gt=0,
        description="How long a sent outbox message is kept (for tracing a delivery).",
    )
    heartbeat_retention_hours: float = Field(
        168.0,
        gt=0,
        description="How long the heartbeat of a worker that stopped is kept (operator page).",
    )
    usage_facts_seconds: float = Field(
        600.0, gt=0, description="How often a worker rebuilds the recent days of usage facts."
    )
    usage_facts_window_days: int = Field(
        7,
        ge=1,
        le=400,
        description=(
            "How many past days each usage-facts run rebuilds, so a record written late (up to"
            " this many days) lands in its own day without a manual `civicloom funding rebuild`."
        ),
    )
    change_publication_seconds: float = Field(
        60.0,
        gt=0,
        description="How often a worker publishes approved change requests whose effective date "
        "has come, and every process refreshes its rule book from approved changes (ADR 0049).",
    )
    simulator_base_port: int = Field(
        8101,
        ge=1,
        le=65000,
        description=(
            "First port of the simulators `civicloom run` starts; each listens on this plus its"
            " `port_offset` in `blueprints/simulators.yaml`."
        ),
    )
    session_idle_minutes: int = Field(
        30, ge=1, le=1440, description="A browser session ends after this many idle minutes."
    )
    session_absolute_hours: int = Field(
        12, ge=1, le=168, description="A browser session ends this many hours after login."
    )
    oidc_citizen_issuer: str = Field(
        "", description="Issuer URL of the citizens' OpenID provider (national eID). Empty: off."
    )
    oidc_citizen_client_id: str = Field("", description="Our client id at the citizens' provider.")
    oidc_citizen_client_secret: SecretStr = Field(
        SecretStr(""), description="Our client secret at the citizens' provider."
    )
    oidc_citizen_mandates_claim: str = Field(
        "business_mandates",
        description=(
            "Claim of the citizens' provider listing the business registration numbers a person"
            " represents. Each is checked against the business register at sign-in; only those"
            " whose entry names the person become the session's mandates (ADR 0041)."
        ),
    )
    oidc_staff_issuer: str = Field(
        "", description="Issuer URL of the staff OpenID provider (departmental IdP). Empty: off."
    )
    oidc_staff_client_id: str = Field("", description="Our client id at the staff provider.")
    oidc_staff_client_secret: SecretStr = Field(
        SecretStr(""), description="Our client secret at the staff provider."
    )
    oidc_staff_scope: str = Field(
        "openid profile roles",
        description="Scopes asked of the staff provider; must yield `roles` and `department`.",
    )
    oidc_staff_groups_claim: str = Field(
        "groups",
        description=(
            "Claim of the staff provider listing a person's groups, read when"
            " `oidc_staff_group_mapping` is set (docs/how-to/map-identity-provider-claims.md)."
        ),
    )
    oidc_staff_group_mapping: dict[str, StaffGroup] = Field(
        {},
        description=(
            "Staff provider groups to a department and roles, as JSON, e.g."
            ' `{"tax-officers": {"department": "tax", "roles": ["officer", "tax-officer"]}}`.'
            " Groups not listed are ignored. Empty: the `roles` and `department` claims are"
            " read as they are. An unknown department or role refuses the sign-in."
        ),
    )
    login_rate_per_minute: int = Field(
        10, ge=1, description="Login attempts allowed per client address and minute."
    )
    submission_rate_per_minute: int = Field(
        30, ge=1, description="Application submissions allowed per caller and minute."
    )
    trusted_proxies: list[IPvAnyNetwork] = Field(
        [],
        description=(
            "Addresses or CIDR networks of the reverse proxies / load balancers in front of the "
            'API, as JSON, e.g. `["10.0.0.0/24", "127.0.0.1"]`. `X-Forwarded-For` is honoured '
            "only on a connection from one of them (the right-most address that is not a trusted "
            "proxy is the client); from anyone else it is ignored. Empty: the socket peer is "
            "the client (rate limits, login throttling, loopback-only surfaces)."
        ),
    )
    metrics_token: SecretStr | None = Field(
        None,
        description=(
            "Bearer token a Prometheus scraper sends to read `/metrics` "
            "(`Authorization: Bearer <token>`). Production refuses to start unless this or "
            "`metrics_networks` is set."
        ),
    )
    metrics_networks: list[IPvAnyNetwork] = Field(
        [],
        description=(
            "Client networks (after `trusted_proxies` resolution) allowed to read `/metrics` "
            'without the token, as JSON, e.g. `["10.0.5.0/24"]`. Outside production, with '
            "neither this nor `metrics_token` set, `/metrics` answers the loopback address only."
        ),
    )
    connector_base_urls: dict[str, str] = Field(
        {},
        description=(
            "Base URL of each department system by department id, as JSON, e.g. "
            '`{"tax": "https://tax.example/api"}`. Departments not listed use their simulator.'
        ),
    )
    connector_secrets: dict[str, SecretStr] = Field(
        {},
        description=(
            "Named connector secrets (API keys, tokens, callback HMAC keys) as JSON, referenced by "
            'name from department files, e.g. `{"environment.callback": "..."}`.'
        ),
    )
    callback_tolerance_seconds: int = Field(
        300,
        ge=1,
        description="How far a signed callback's timestamp may be from now before it is refused.",
    )
    breaker_failure_threshold: int = Field(
        5, ge=1, description="Consecutive transient failures that open a department's breaker."
    )
    breaker_reset_seconds: float = Field(
        30.0, gt=0, description="How long a department's breaker stays open before a trial call."
    )
    keys_dir: Path | None = Field(
        None,
        description=(
            "Directory of the Ed25519 keys that sign licences and audit seals (`civicloom keys "
            "generate`). Empty: `<var_dir>/keys`, created on first use in embedded/test; "
            "production refuses to start without it."
        ),
    )
    document_storage: str = Field(
        "local",
        pattern="^(local|s3)$",
        description="Where documents are stored: `local` (`<var_dir>/documents`) or `s3`.",
    )
    document_max_bytes: int = Field(
        10 * 1024 * 1024,
        ge=1024,
        description="Largest document upload accepted when the blueprint does not say (bytes).",
    )
    document_retention_days: int = Field(
        365,
        ge=1,
        description="How long a document is kept when its blueprint type declares no retention.",
    )
    s3_endpoint_url: str = Field(
        "", description="S3-compatible endpoint, e.g. `https://s3.eu-west-1.amazonaws.com`."
    )
    s3_bucket: str = Field("", description="Bucket for documents when `document_storage=s3`.")
    s3_region: str = Field("us-east-1", description="Region of the S3 bucket.")
    s3_access_key_id: str = Field("", description="S3 access key id (empty: boto3's defaults).")
    s3_secret_access_key: SecretStr = Field(
        SecretStr(""), description="S3 secret access key (empty: boto3's defaults)."
    )

    payments_provider_url: str = Field(
        "",
        description="Base URL of the payment provider (sandbox API). Empty: the payment simulator.",
    )
    payments_webhook_secret: SecretStr = Field(
        SecretStr(PLACEHOLDER_SECRET),
        description=(
            "HMAC secret of the payment provider's signed webhooks; payments refuse the "
            "placeholder in production."
        ),
    )
    smtp_host: str = Field(
        "",
        description=(
            "SMTP server for outgoing mail. Empty: mail is caught in `<var_dir>/mail` and shown "
            "at `/dev/mail` (embedded/test only)."
        ),
    )
    smtp_port: int = Field(25, ge=1, le=65535, description="SMTP server port.")
    smtp_starttls: bool = Field(False, description="Upgrade SMTP connections with STARTTLS.")
    mail_from: str = Field(
        "civicloom <no-reply@civicloom.example>", description="Sender of outgoing mail."
    )
    form_action_origins: list[str] = Field(
        [],
        description=(
            "Other origins the browser may be sent to from a form (Content-Security-Policy "
            "`form-action`), as JSON, e.g. a payment provider's hosted checkout on a host other "
            "than `payments_provider_url`. The identity providers and the payment provider are "
            "allowed already."
        ),
    )
    sms_provider_url: str = Field(
        "", description="Base URL of the SMS provider's HTTP API. Empty: the SMS simulator."
    )
    notification_rate_per_minute: dict[str, int] = Field(
        {"email": 600, "sms": 60},
        description="Deliveries per minute allowed per provider (`email`, `sms`), as JSON.",
    )

    govstack_ports: list[Annotated[int, Field(ge=1, le=65535)]] = Field(
        default_factory=list,
        description=(
            "Ports of the GovStack listeners `civicloom serve` (and so `civicloom run`) starts, "
            "as JSON, e.g. `[3333, 3366]`: the building-block facades at their root, where the "
            "published suites call. Empty: none (`--govstack-port` adds some)."
        ),
    )
    govstack_base_path: str = Field(
        "",
        pattern=r"^(/[a-z0-9-]+)*$",
        description=(
            "Also serve the GovStack facades on the main app under this path (e.g. `/govstack`). "
            "Empty: only on the GovStack listener."
        ),
    )
    govstack_instance: str = Field(
        "civicloom",
        pattern=r"^[A-Za-z][A-Za-z0-9._-]{0,63}$",
        description="This deployment's Information Mediator instance (`INSTANCE` in identifiers).",
    )
    govstack_trust_im_header: bool = Field(
        False,
        description=(
            "The GovStack listener sits behind an Information Mediator security server (mTLS) "
            "that authenticated the caller: a registered `Information-Mediator-Client` subsystem "
            "then identifies its machine client without an API key (ADR 0046)."
        ),
    )
    govstack_clients_file: Path | None = Field(
        None,
        description=(
            "JSON registrations of GovStack callers (IM subsystems and conformance key aliases "
            "to machine clients), written by `civicloom govstack fixtures`; holds no secrets."
        ),
    )
    pubsub_push_private_hosts: bool = Field(
        False,
        description=(
            "IM pub/sub PUSH may post to endpoints whose host resolves to a private, loopback, "
            "link-local or otherwise non-public address (ADR 0057). Off: such a push is refused "
            "before any connection; turn on only where subscribers live on the platform's own "
            "network (tests, a closed government network)."
        ),
    )
    pubsub_retention_days: int = Field(
        90,
        ge=1,
        le=3650,
        description=(
            "Days a published IM pub/sub event and its deliveries are kept once published; a "
            "worker job deletes older ones whose deliveries have all ended (ADR 0057)."
        ),
    )

    environment_name: str = Field(
        "development",
        pattern=r"^[a-z][a-z0-9-]{1,48}$",
        description=(
            "This deployment's environment (e.g. `test`, `production`): the source named in the "
            "signed bundles it exports, and refused as the source of a bundle it imports."
        ),
    )
    bundle_trusted_sources: dict[
        Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,48}$")], Path
    ] = Field(
        {},
        description=(
            "Environments whose signed bundles `civicloom bundle import` accepts, as JSON: name "
            "to the JWKS file of that environment's public keys (`civicloom keys jwks`), e.g. "
            '`{"test": "/etc/civicloom/test.jwks.json"}`. Empty: no bundle is accepted (ADR 0052).'
        ),
    )

    @model_validator(mode="after")
    def _defaults_and_safety(self) -> Self:
        if self.dev_login is None:
            self.dev_login = self.profile is not Profile.PRODUCTION
        if self.profile is Profile.PRODUCTION:
            problems = []
            if self.dev_login:
                problems.append("dev_login must be off in production")
            if self.secret_key.get_secret_value() == PLACEHOLDER_SECRET:
                problems.append("secret_key is the development placeholder")
            elif len(self.secret_key.get_secret_value()) < 32:
                problems.append("secret_key must be at least 32 characters")
            if not self.database_url or self.database_url.startswith("sqlite"):
                problems.append("production needs PostgreSQL (database_url), not SQLite")
            if self.keys_dir is None:
                problems.append("production needs keys_dir (the signing keys' directory)")
            if self.document_storage == "s3" and not self.s3_bucket:
                problems.append("document_storage=s3 needs s3_bucket")
            if self.metrics_token is None and not self.metrics_networks:
                problems.append("/metrics needs metrics_token or metrics_networks in production")
            elif self.metrics_token is not None and len(self.metrics_token.get_secret_value()) < 24:
                problems.append("metrics_token must be at least 24 characters")
            if problems:
                raise ConfigurationError("refusing to start: " + "; ".join(problems))
        return self

    @property
    def effective_database_url(self) -> str:
        """The database URL, with the embedded SQLite default filled in."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.var_dir / 'civicloom.db'}"

    @property
    def effective_keys_dir(self) -> Path:
        """Where the signing keys are: ``keys_dir`` or ``<var_dir>/keys``."""
        return self.keys_dir or self.var_dir / "keys"

    @property
    def effective_public_url(self) -> str:
        """The public base URL, defaulting to the bind address."""
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def session_cookie_secure(self) -> bool:
        """Cookies are Secure in production and whenever the public URL is https."""
        return self.profile is Profile.PRODUCTION or self.effective_public_url.startswith("https:")

    def simulators(self) -> tuple[SimulatorSpec, ...]:
        """The simulators ``blueprints/simulators.yaml`` declares (none if there is no file)."""
        return load_simulators(self.blueprints_dir)

    def simulator_urls(self) -> dict[str, str]:
        """Where ``civicloom run`` starts each declared simulator (embedded profile)."""
        return {
            sim.name: f"http://127.0.0.1:{self.simulator_base_port + sim.port_offset}"
            for sim in self.simulators()
        }

    def setting_value(self, dotted: str) -> Any:
        """A setting by name, or one key of a mapping setting (``connector_base_urls.tax``)."""
        name, _, key = dotted.partition(".")
        value = getattr(self, name)
        if key:
            value = value.get(key) if isinstance(value, dict) else None
        return value.get_secret_value() if isinstance(value, SecretStr) else value

    @property
    def dev_login_enabled(self) -> bool:
        """Whether the demo-persona login is available."""
        return bool(self.dev_login)


class SimulatorValue(BaseModel):
    """Where one option or environment variable of a simulator comes from (exactly one)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    var_dir: str | None = Field(None, description="A directory under var_dir, created first.")
    connector_secret: str | None = Field(None, description="A named connector secret.")
    setting: str | None = Field(None, description="The value of a setting.")

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if sum(v is not None for v in (self.var_dir, self.connector_secret, self.setting)) != 1:
            raise ValueError("give exactly one of var_dir, connector_secret, setting")
        if self.setting is not None and self.setting.split(".")[0] not in Settings.model_fields:
            raise ValueError(f"no setting {self.setting!r}")
        return self


class SimulatorSpec(BaseModel):
    """A department's (or provider's) simulator that ``civicloom run`` starts: data, not code."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    module: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.]*$", description="`python -m` module.")
    port_offset: int = Field(ge=0, le=999, description="Port = simulator_base_port + offset.")
    url_setting: str = Field(description="The setting that points at the real system instead.")
    options: dict[str, SimulatorValue] = Field(default_factory=dict)
    env: dict[str, SimulatorValue] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_setting(self) -> Self:
        if self.url_setting.split(".")[0] not in Settings.model_fields:
            raise ValueError(f"url_setting: no setting {self.url_setting!r}")
        return self

    @property
    def connector_secrets(self) -> tuple[str, ...]:
        """Names of the connector secrets this simulator shares with the platform."""
        values = [*self.options.values(), *self.env.values()]
        return tuple(v.connector_secret for v in values if v.connector_secret)


def load_simulators(blueprints_dir: Path) -> tuple[SimulatorSpec, ...]:
    """``<blueprints_dir>/simulators.yaml``, validated; ConfigurationError names what is wrong."""
    path = blueprints_dir / "simulators.yaml"
    if not path.exists():
        return ()
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    try:
        found = tuple(SimulatorSpec.model_validate(s) for s in raw.get("simulators") or [])
    except ValidationError as exc:
        raise ConfigurationError(f"{path}: {exc}") from exc
    for attribute in ("name", "port_offset"):
        values = [getattr(s, attribute) for s in found]
        twice = sorted({str(v) for v in values if values.count(v) > 1})
        if twice:
            raise ConfigurationError(f"{path}: {attribute} used twice: {', '.join(twice)}")
    return found


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings from the environment, read once per process."""
    return Settings()


def settings_reference() -> str:
    """Markdown reference of every setting, generated from the field descriptions."""
    lines = [
        "# Settings reference",
        "",
        "Generated by `civicloom docs settings` from `src/civicloom/settings.py`; do not edit.",
        "Every setting is read from an environment variable with the `CIVICLOOM_` prefix.",
        "",
        "| variable | default | description |",
        "| --- | --- | --- |",
    ]
    for name, info in Settings.model_fields.items():
        default = info.default
        if isinstance(default, SecretStr):
            shown = "*(placeholder; must be set outside dev)*"
        elif isinstance(default, Path):
            shown = f"`{default.relative_to(PROJECT_ROOT)}` (in the project)"
        elif default is None:
            shown = "*(by profile)*"
        elif default == "":
            shown = "*(empty)*"
        else:
            shown = f"`{getattr(default, 'value', default)}`"
        lines.append(f"| `CIVICLOOM_{name.upper()}` | {shown} | {info.description} |")
    return "\n".join(lines) + "\n"
