"""Who may read metrics (ADR 0062): one rule for the API's /metrics and each worker's port."""

from __future__ import annotations

from ipaddress import ip_network

from pydantic import SecretStr

from civicloom.settings import Settings
from civicloom.web.metrics_access import metrics_caller_allowed

TOKEN = "scraper-token-0123456789abcdef"


def test_the_token_holder_reads_from_anywhere_and_nobody_else_does() -> None:
    settings = Settings(metrics_token=SecretStr(TOKEN))
    assert metrics_caller_allowed(settings, f"Bearer {TOKEN}", "203.0.113.9") is True
    assert metrics_caller_allowed(settings, f"bearer {TOKEN}", "203.0.113.9") is True
    assert metrics_caller_allowed(settings, f"Basic {TOKEN}", "203.0.113.9") is False
    assert metrics_caller_allowed(settings, "Bearer scraper-token", "203.0.113.9") is False
    assert metrics_caller_allowed(settings, "", "127.0.0.1") is False  # not even this machine


def test_a_scraper_network_reads_without_a_token() -> None:
    settings = Settings(metrics_networks=[ip_network("10.20.0.0/16")])
    assert metrics_caller_allowed(settings, "", "10.20.3.4") is True
    assert metrics_caller_allowed(settings, "", "10.21.3.4") is False
    assert metrics_caller_allowed(settings, "", "127.0.0.1") is False


def test_with_neither_only_this_machine_reads() -> None:
    settings = Settings()
    assert metrics_caller_allowed(settings, "", "127.0.0.1") is True
    assert metrics_caller_allowed(settings, "", "::1") is True
    assert metrics_caller_allowed(settings, "", "192.0.2.1") is False


def test_an_empty_token_opens_nothing() -> None:
    settings = Settings(metrics_token=SecretStr(""))
    assert metrics_caller_allowed(settings, "Bearer", "203.0.113.9") is False
    assert metrics_caller_allowed(settings, "Bearer ", "203.0.113.9") is False
    assert metrics_caller_allowed(settings, "", "127.0.0.1") is True  # as with no token


def test_dual_stack_addresses_count_as_their_ipv4_selves() -> None:
    scrapers = Settings(metrics_networks=[ip_network("10.0.0.0/8")])
    assert metrics_caller_allowed(scrapers, "", "::ffff:10.1.2.3") is True
    assert metrics_caller_allowed(scrapers, "", "::ffff:192.0.2.1") is False
    assert metrics_caller_allowed(Settings(), "", "::ffff:127.0.0.1") is True
    assert metrics_caller_allowed(Settings(), "", "127.evil.example") is False


def test_a_worker_serves_its_metrics_on_an_ipv6_host() -> None:
    import socket
    import urllib.error
    import urllib.request

    from prometheus_client import CollectorRegistry

    from civicloom.web.metrics_access import serve_metrics

    with socket.socket(socket.AF_INET6) as s:
        s.bind(("::1", 0))
        port = int(s.getsockname()[1])
    server, thread = serve_metrics(Settings(host="::1"), CollectorRegistry(), port)
    try:
        with urllib.request.urlopen(f"http://[::1]:{port}/metrics", timeout=5) as answer:
            assert answer.status == 200
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
