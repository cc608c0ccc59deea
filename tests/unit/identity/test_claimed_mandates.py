"""The citizens' provider's representation claim is read strictly (ADR 0041 amended): only
well-formed registration numbers, at most 20, from the configured claim; anything else is
ignored (the business register decides later which of them stand)."""

from __future__ import annotations

from typing import Any

from civicloom.identity import OidcClientConfig, OidcLogin, claimed_mandates

CONFIG = OidcClientConfig(
    audience="citizen",
    issuer="https://id.example",
    client_id="c",
    client_secret="s",
    redirect_uri="https://p.example/cb",
)


def login(claims: dict[str, Any], userinfo: dict[str, Any] | None = None) -> OidcLogin:
    return OidcLogin(id_token="t", claims={"sub": "alice", **claims}, userinfo=userinfo or {})


def test_only_well_formed_numbers_are_read() -> None:
    got = claimed_mandates(
        CONFIG,
        login({"business_mandates": ["BR-2021-000666", "BR-2019-004211", "x", 7, "BR-2019-4211"]}),
    )
    assert got == ("BR-2019-004211", "BR-2021-000666")


def test_userinfo_counts_and_a_wrong_shape_gives_nothing() -> None:
    assert claimed_mandates(CONFIG, login({}, {"business_mandates": ["BR-2019-004211"]})) == (
        "BR-2019-004211",
    )
    assert claimed_mandates(CONFIG, login({"business_mandates": "BR-2019-004211"})) == ()
    assert claimed_mandates(CONFIG, login({})) == ()


def test_at_most_twenty_and_the_claim_name_is_configurable() -> None:
    many = [f"BR-2020-{n:06d}" for n in range(30)]
    assert len(claimed_mandates(CONFIG, login({"business_mandates": many}))) == 20
    other = OidcClientConfig(
        audience="citizen",
        issuer="https://id.example",
        client_id="c",
        client_secret="s",
        redirect_uri="https://p.example/cb",
        mandates_claim="represents",
    )
    assert claimed_mandates(other, login({"represents": ["BR-2019-004211"]})) == ("BR-2019-004211",)
    assert claimed_mandates(other, login({"business_mandates": ["BR-2019-004211"]})) == ()
