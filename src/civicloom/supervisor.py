"""``civicloom run``: the API, a worker and the department simulators as one supervised group.

Children that die are restarted with back-off; Ctrl-C (SIGINT) or SIGTERM stops them all,
politely first (SIGTERM), then firmly (SIGKILL) after a grace period.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from types import FrameType
from urllib.parse import urlsplit, urlunsplit

import httpx
from rich.console import Console
from rich.table import Table

from civicloom.connectors import dev_secret
from civicloom.identity import load_personas
from civicloom.settings import (
    PLACEHOLDER_SECRET,
    ConfigurationError,
    Profile,
    Settings,
    SimulatorSpec,
    SimulatorValue,
)

GRACE_SECONDS = 8.0
MAX_RESTARTS = 5


@dataclass
class Child:
    """One supervised process."""

    name: str
    argv: list[str]
    health_url: str | None
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    restarts: list[float] = field(default_factory=list)

    def start(self) -> None:
        """Start (or restart) the process."""
        self.process = subprocess.Popen(self.argv, env={**os.environ, **self.env})  # noqa: S603

    def alive(self) -> bool:
        """Whether the process is running."""
        return self.process is not None and self.process.poll() is None


def _without_credentials(url: str) -> str:
    """A URL fit for a console banner: any ``user:password@`` part is masked."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"***@{host}"))


def simulator_urls(settings: Settings) -> dict[str, str]:
    """Where ``civicloom run`` starts each department simulator."""
    return settings.simulator_urls()


def _platform_env(settings: Settings) -> dict[str, str]:
    """Secrets shared by the platform and the simulators of this group.

    A connector secret a declared simulator shares (``blueprints/simulators.yaml``) that the
    operator did not configure is a development secret of this ``var_dir``; outside production
    only, and so is a placeholder payments webhook secret (ADR 0032).
    """
    secrets = {k: v.get_secret_value() for k, v in settings.connector_secrets.items()}
    for sim in settings.simulators():
        for name in sim.connector_secrets:
            if name not in secrets and settings.profile is not Profile.PRODUCTION:
                secrets[name] = dev_secret(settings, name)
    env = {"CIVICLOOM_CONNECTOR_SECRETS": json.dumps(secrets)}
    payments = settings.payments_webhook_secret.get_secret_value()
    if payments == PLACEHOLDER_SECRET and settings.profile is not Profile.PRODUCTION:
        payments = dev_secret(settings, "payments.webhook")  # the one build_container uses
    env["CIVICLOOM_PAYMENTS_WEBHOOK_SECRET"] = payments
    return env


def _worker_metrics_port(settings: Settings) -> int:
    """The worker's own metrics port: as configured, or the one after the API's."""
    return settings.worker_metrics_port or settings.port + 1


def _value(settings: Settings, platform_env: dict[str, str], value: SimulatorValue) -> str:
    """An option or variable of a simulator, as declared (see ``blueprints/simulators.yaml``)."""
    if value.var_dir is not None:
        folder = settings.var_dir / value.var_dir
        folder.mkdir(parents=True, exist_ok=True)
        return str(folder)
    if value.connector_secret is not None:
        secrets: dict[str, str] = json.loads(platform_env["CIVICLOOM_CONNECTOR_SECRETS"])
        if value.connector_secret not in secrets:
            raise ConfigurationError(f"connector secret {value.connector_secret!r} is not set")
        return secrets[value.connector_secret]
    assert value.setting is not None
    # What the platform's own processes see, e.g. a payments secret generated for this run.
    seen = platform_env.get(f"CIVICLOOM_{value.setting.upper()}")
    found = settings.setting_value(value.setting) if seen is None else seen
    return "" if found is None else str(found)


def _simulator(
    settings: Settings, platform_env: dict[str, str], sim: SimulatorSpec, url: str
) -> Child:
    argv = [
        sys.executable,
        "-m",
        sim.module,
        "--host",
        "127.0.0.1",
        "--port",
        url.rsplit(":", 1)[1],
        "--data-dir",
        str(settings.var_dir / "simulators" / sim.name),
    ]
    for option, value in sim.options.items():
        argv += [option, _value(settings, platform_env, value)]
    env = {name: _value(settings, platform_env, value) for name, value in sim.env.items()}
    return Child(f"sim:{sim.name}", argv, f"{url}/_sim/health", env=env)


def _children(settings: Settings, with_simulators: bool) -> list[Child]:
    python = sys.executable
    api_url = f"http://{settings.host}:{settings.port}"
    env = _platform_env(settings)
    children = [
        Child("api", [python, "-m", "civicloom", "serve"], f"{api_url}/readyz", env=env),
        Child(
            "worker",
            [python, "-m", "civicloom", "worker"],
            None,
            env={**env, "CIVICLOOM_WORKER_METRICS_PORT": str(_worker_metrics_port(settings))},
        ),
    ]
    if not with_simulators:
        return children
    urls = simulator_urls(settings)
    for sim in settings.simulators():
        if not _importable(sim.module):
            continue  # an installed platform without the demo's simulators
        children.append(_simulator(settings, env, sim, urls[sim.name]))
    return children


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # the parent package is missing
        return False


def _wait_ready(children: list[Child], timeout: float) -> list[str]:
    deadline = time.monotonic() + timeout
    pending = {c.name: c.health_url for c in children if c.health_url}
    while pending and time.monotonic() < deadline:
        for name, url in list(pending.items()):
            try:
                if url and httpx.get(url, timeout=1.0).status_code == 200:
                    del pending[name]
            except httpx.HTTPError:
                pass
        if pending:
            time.sleep(0.2)
    return sorted(pending)


def _print_banner(console: Console, settings: Settings, children: list[Child]) -> None:
    base = settings.effective_public_url
    table = Table(title="civicloom is running", show_header=True)
    table.add_column("what")
    table.add_column("where")
    table.add_row("API docs", f"{base}/api/v1/docs")
    table.add_row("Services (API)", f"{base}/api/v1/services")
    table.add_row("Readiness", f"{base}/readyz")
    table.add_row("Metrics (API)", f"{base}/metrics")
    table.add_row(
        "Metrics (worker)", f"http://{settings.host}:{_worker_metrics_port(settings)}/metrics"
    )
    if not settings.smtp_host and settings.profile is not Profile.PRODUCTION:
        table.add_row("Mail viewer (caught mail)", f"{base}/dev/mail")
    urls = simulator_urls(settings)
    for sim in settings.simulators():
        if not any(c.name == f"sim:{sim.name}" for c in children):
            continue
        real = settings.setting_value(sim.url_setting)
        where = f"{urls[sim.name]}/_sim/health"
        if real:  # the platform talks to the real system; the simulator idles
            shown = _without_credentials(str(real))
            where += f" (unused: CIVICLOOM_{sim.url_setting.upper()} = {shown})"
        table.add_row(f"Simulator: {sim.name}", where)
    console.print(table)
    logins = Table(title="Demo logins (embedded profile only: DEV LOGIN)", show_header=True)
    logins.add_column("persona")
    logins.add_column("role")
    logins.add_column("API token")
    for persona in load_personas(settings.blueprints_dir).values():
        logins.add_row(persona.name, persona.description, f"Bearer dev:{persona.id}")
    console.print(logins)
    console.print("Press Ctrl-C to stop everything.")


def _stop_all(children: list[Child]) -> None:
    for child in children:
        if child.alive():
            assert child.process is not None
            child.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + GRACE_SECONDS
    for child in children:
        if child.process is None:
            continue
        try:
            child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.process.kill()
            child.process.wait()


def run_group(settings: Settings, with_simulators: bool, console: Console) -> int:
    """Start everything, keep it running, stop it all on Ctrl-C; returns the exit code."""
    stopping = False

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    children = _children(settings, with_simulators)
    for child in children:
        child.start()
    not_ready = _wait_ready(children, timeout=60)
    if not_ready:
        console.print(f"[red]not ready after 60 s: {', '.join(not_ready)}[/red]")
        _stop_all(children)
        return 1
    _print_banner(console, settings, children)
    code = 0
    while not stopping:
        for child in children:
            if child.alive() or stopping:
                continue
            now = time.monotonic()
            child.restarts = [t for t in child.restarts if now - t < 60] + [now]
            if len(child.restarts) > MAX_RESTARTS:
                console.print(f"[red]{child.name} keeps failing; stopping the group[/red]")
                stopping, code = True, 1
                break
            console.print(f"[yellow]{child.name} exited; restarting[/yellow]")
            time.sleep(min(5.0, 0.5 * 2 ** len(child.restarts)))
            child.start()
        time.sleep(0.2)
    console.print("stopping…")
    _stop_all(children)
    console.print("stopped.")
    return code
