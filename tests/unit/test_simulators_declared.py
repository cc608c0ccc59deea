"""Simulators, their ports, options and shared secrets are declared in
``blueprints/simulators.yaml``; ``civicloom run`` and the connectors read that declaration."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from civicloom.bootstrap import with_generated_secrets
from civicloom.connectors import dev_secret
from civicloom.connectors.base import dev_secret_names
from civicloom.settings import (
    PROJECT_ROOT,
    ConfigurationError,
    Profile,
    Settings,
    load_simulators,
)
from civicloom.supervisor import _children, _platform_env


def _settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(profile=Profile.TEST, var_dir=tmp_path / "var", **values)  # type: ignore[arg-type]


def test_the_demo_declares_six_simulators_with_their_url_settings() -> None:
    sims = load_simulators(PROJECT_ROOT / "blueprints")
    assert [(s.name, s.module, s.port_offset, s.url_setting) for s in sims] == [
        ("local_admin", "simulators.local_admin", 0, "connector_base_urls.local-admin"),
        ("tax", "simulators.tax", 1, "connector_base_urls.tax"),
        ("environment", "simulators.environment", 2, "connector_base_urls.environment"),
        ("labour", "simulators.labour", 3, "connector_base_urls.labour"),
        ("payments", "simulators.payments", 4, "payments_provider_url"),
        ("sms", "simulators.sms", 5, "sms_provider_url"),
    ]


def test_simulator_urls_follow_the_base_port(tmp_path: Path) -> None:
    settings = _settings(tmp_path, simulator_base_port=9300)
    assert settings.simulator_urls() == {
        "local_admin": "http://127.0.0.1:9300",
        "tax": "http://127.0.0.1:9301",
        "environment": "http://127.0.0.1:9302",
        "labour": "http://127.0.0.1:9303",
        "payments": "http://127.0.0.1:9304",
        "sms": "http://127.0.0.1:9305",
    }


def test_no_declaration_means_no_simulators(tmp_path: Path) -> None:
    assert _settings(tmp_path, blueprints_dir=tmp_path).simulator_urls() == {}


@pytest.mark.parametrize(
    ("declaration", "message"),
    [
        (
            "simulators: [{name: a, module: m, port_offset: 0, url_setting: nope}]",
            "url_setting: no setting 'nope'",
        ),
        (
            "simulators: [{name: a, module: m, port_offset: 0, url_setting: amqp_url,"
            " env: {X: {setting: amqp_url, var_dir: x}}}]",
            "give exactly one of var_dir, connector_secret, setting",
        ),
        (
            "simulators: [{name: a, module: m, port_offset: 0, url_setting: amqp_url},"
            " {name: b, module: m, port_offset: 0, url_setting: amqp_url}]",
            "port_offset used twice: 0",
        ),
        (
            "simulators: [{name: a, module: m, port: 8101, url_setting: amqp_url}]",
            "port_offset",
        ),
    ],
)
def test_a_broken_declaration_is_refused(tmp_path: Path, declaration: str, message: str) -> None:
    (tmp_path / "simulators.yaml").write_text(declaration, encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"simulators\.yaml") as info:
        load_simulators(tmp_path)
    assert message in str(info.value)


def test_dev_secrets_are_the_ones_simulators_share_and_stay_put(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    assert dev_secret_names(settings) == frozenset({"environment.callback", "local-admin.batch"})
    first = dev_secret(settings, "environment.callback")
    assert len(first) >= 40
    assert dev_secret(settings, "environment.callback") == first  # same var_dir, same secret
    other = _settings(tmp_path / "elsewhere")
    assert dev_secret(other, "environment.callback") != first
    production = settings.model_copy(update={"profile": Profile.PRODUCTION})
    with pytest.raises(ValueError, match="production"):
        dev_secret(production, "environment.callback")


def test_the_group_wires_each_simulator_as_declared(tmp_path: Path) -> None:
    settings = _settings(tmp_path, simulator_base_port=9300, amqp_url="amqp://broker/")
    children = {c.name: c for c in _children(settings, with_simulators=True)}
    assert sorted(children) == [
        "api",
        "sim:environment",
        "sim:labour",
        "sim:local_admin",
        "sim:payments",
        "sim:sms",
        "sim:tax",
        "worker",
    ]
    shared = json.loads(children["api"].env["CIVICLOOM_CONNECTOR_SECRETS"])
    assert shared == {
        "environment.callback": dev_secret(settings, "environment.callback"),
        "local-admin.batch": dev_secret(settings, "local-admin.batch"),
    }
    assert shared["environment.callback"] != shared["local-admin.batch"]  # one per department
    local_admin = children["sim:local_admin"]
    exchange = tmp_path / "var" / "exchange" / "local-admin"
    assert local_admin.argv[2:] == [
        "simulators.local_admin",
        "--host",
        "127.0.0.1",
        "--port",
        "9300",
        "--data-dir",
        str(tmp_path / "var" / "simulators" / "local_admin"),
        "--exchange-dir",
        str(exchange),
    ]
    assert exchange.is_dir()
    assert local_admin.env == {"SIM_LOCAL_ADMIN_BATCH_SECRET": shared["local-admin.batch"]}
    assert children["sim:environment"].env == {
        "SIM_ENVIRONMENT_CALLBACK_SECRET": shared["environment.callback"]
    }
    assert children["sim:labour"].env == {"SIM_LABOUR_AMQP_URL": "amqp://broker/"}
    payments = children["sim:payments"].env["SIM_PAYMENTS_WEBHOOK_SECRET"]
    assert payments == children["api"].env["CIVICLOOM_PAYMENTS_WEBHOOK_SECRET"]
    assert payments != "change-me-dev-only-secret"
    assert children["sim:sms"].argv[-3:] == [
        "9305",
        "--data-dir",
        str(tmp_path / "var" / "simulators" / "sms"),
    ]


def test_a_configured_secret_wins_over_the_dev_secret(tmp_path: Path) -> None:
    vault = {"environment.callback": "from-the-vault", "local-admin.batch": "also-from-the-vault"}
    settings = _settings(tmp_path, connector_secrets=vault, payments_webhook_secret="vault-too")
    assert json.loads(_platform_env(settings)["CIVICLOOM_CONNECTOR_SECRETS"]) == vault
    assert not (tmp_path / "var" / "dev-secrets").exists()


def test_no_secret_of_the_embedded_profile_is_a_known_constant(tmp_path: Path) -> None:
    """The embedded (default) profile replaces every development placeholder with a secret
    generated once per var_dir; the group's processes and simulators share it (ADR 0032)."""
    embedded = Settings(profile=Profile.EMBEDDED, var_dir=tmp_path / "var")
    assert embedded.secret_key.get_secret_value() == "change-me-dev-only-secret"  # the default
    generated = with_generated_secrets(embedded)
    values = {
        "secret_key": generated.secret_key.get_secret_value(),
        "payments_webhook_secret": generated.payments_webhook_secret.get_secret_value(),
        **{n: dev_secret(embedded, n) for n in dev_secret_names(embedded)},
    }
    assert sorted(values) == [
        "environment.callback",
        "local-admin.batch",
        "payments_webhook_secret",
        "secret_key",
    ]
    assert "change-me-dev-only-secret" not in values.values()
    assert len(set(values.values())) == 4  # one per purpose and per department
    assert all(len(v) >= 40 for v in values.values())
    again = with_generated_secrets(Settings(profile=Profile.EMBEDDED, var_dir=tmp_path / "var"))
    assert again.secret_key == generated.secret_key  # every process on this var_dir agrees
    elsewhere = with_generated_secrets(Settings(profile=Profile.EMBEDDED, var_dir=tmp_path / "b"))
    assert elsewhere.secret_key != generated.secret_key
    env = _platform_env(embedded)
    assert env["CIVICLOOM_PAYMENTS_WEBHOOK_SECRET"] == values["payments_webhook_secret"]
    assert json.loads(env["CIVICLOOM_CONNECTOR_SECRETS"]) == {
        "environment.callback": values["environment.callback"],
        "local-admin.batch": values["local-admin.batch"],
    }
    configured = Settings(profile=Profile.EMBEDDED, var_dir=tmp_path / "c", secret_key="x" * 40)
    assert with_generated_secrets(configured).secret_key.get_secret_value() == "x" * 40
