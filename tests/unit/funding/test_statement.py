"""Statement arithmetic with figures worked out by hand, months, and tariff validation."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from civicloom.funding import (
    Meter,
    Month,
    Tariff,
    Tariffs,
    build_statement,
    format_minor,
    load_tariffs,
)
from civicloom.kernel import NotFound, ValidationFailed
from tests.howtos import snippets

BLUEPRINTS = Path(__file__).resolve().parents[3] / "blueprints"


def tariff() -> Tariff:
    return load_tariffs(BLUEPRINTS).years["2026-27"]


def test_allowance_is_used_up_in_date_order() -> None:
    # labour, November 2026: 9 SMS parts this year, 4 of them in November; 2 free; 4 cents each.
    # Year to date: (9 - 2) x 4 = 28; before November 5 SMS -> (5 - 2) x 4 = 12; month 16.
    # Elapsed: 1 April to 1 December = 244 days; forecast 9 x 365 // 244 = 13 -> (13-2)x4 = 44.
    s = build_statement(
        tariff(),
        "labour",
        Month(2026, 11),
        {"sms-fragments": (9, 0)},
        {"sms-fragments": (4, 0)},
        [],
    )
    sms = next(x for x in s.lines if x.meter == "sms-fragments")
    assert (sms.month_charge_minor, sms.ytd_charge_minor) == (16, 28)
    assert (sms.forecast_quantity, sms.forecast_charge_minor) == (13, 44)
    assert s.elapsed_days == 244
    assert s.year_days == 365
    # documents: 2 400 000 x 20 % / 12 = 40 000 a month, 8 months so far
    docs = next(x for x in s.lines if x.component == "documents" and not x.meter)
    assert (docs.month_charge_minor, docs.ytd_charge_minor) == (40_000, 320_000)
    assert s.month_total_minor == 40_016
    # cost avoided: notifications 1 500 000 - 44, documents 1 800 000 - 480 000, identity
    # 2 500 000 (central); orchestration and payments unused this year -> not counted
    assert s.avoided_total_minor == 1_499_956 + 1_320_000 + 2_500_000


def test_a_month_inside_the_allowance_costs_nothing() -> None:
    s = build_statement(
        tariff(), "tax", Month(2026, 4), {"applications": (10, 0)}, {"applications": (10, 0)}, []
    )
    line = next(x for x in s.lines if x.meter == Meter.APPLICATIONS)
    assert line.month_charge_minor == 0
    assert line.allowance == 10


def test_months() -> None:
    assert str(Month.parse("2026-11")) == "2026-11"
    assert Month(2026, 12).after.isoformat() == "2027-01-01"
    for bad in ("2026-13", "2026-00", "26-11", "2026-1", "november", "2026-11-01", "2026-1x"):
        with pytest.raises(ValidationFailed) as info:
            Month.parse(bad)
        assert info.value.errors[0].field == "month"


def test_no_tariff_outside_the_years() -> None:
    with pytest.raises(NotFound):
        load_tariffs(BLUEPRINTS).for_day(Month(2019, 5).first)


def test_tariffs_refuse_inconsistent_files() -> None:
    good = tariff().model_dump(mode="json")
    shares = {**good, "components": {**good["components"]}}
    shares["components"]["documents"] = {**good["components"]["documents"], "shares": {"tax": 50}}
    with pytest.raises(ValidationError, match="add up to 100"):
        Tariff.model_validate(shares)
    unknown = {**good, "meters": {**good["meters"], "sms": {"component": "x", "rate_minor": 1}}}
    with pytest.raises(ValidationError, match="unknown component"):
        Tariff.model_validate(unknown)
    with pytest.raises(ValidationError):
        Tariff.model_validate(
            {**good, "meters": {"fax": {"component": "notifications", "rate_minor": 1}}}
        )


def test_money() -> None:
    assert format_minor(123_456, "EUR") == "EUR 1,234.56"
    assert format_minor(-5, "EUR") == "EUR -0.05"


def test_the_run_rate_of_a_running_month_counts_only_the_days_so_far() -> None:
    # As of 10 November: 1 April to 11 November = 224 days; 9 x 365 // 224 = 14 -> (14-2) x 4.
    s = build_statement(
        tariff(),
        "labour",
        Month(2026, 11),
        {"sms-fragments": (9, 0)},
        {"sms-fragments": (4, 0)},
        [],
        as_of=Month(2026, 11).first.replace(day=10),
    )
    sms = next(x for x in s.lines if x.meter == "sms-fragments")
    assert s.elapsed_days == 224
    assert (sms.forecast_quantity, sms.forecast_charge_minor) == (14, 48)


def _version(version: int, effective: str, status: str = "published") -> Tariff:
    data = tariff().model_dump(mode="json")
    data.update(version=version, effective=effective, status=status)
    return Tariff.model_validate(data)


def test_tariff_versions_price_from_their_effective_day() -> None:
    # a second version of 2026-27, approved by a change request, prices from 1 October on
    one, two = _version(1, "2026-04-01"), _version(2, "2026-10-01")
    tariffs = Tariffs({"2026-27": (one, two)})
    assert tariffs.for_day(Month(2026, 9).first).version == 1
    assert tariffs.for_day(Month(2026, 10).first).version == 2
    assert tariffs.years["2026-27"].version == 2


def test_a_tariff_marker_is_checked(tmp_path: Path) -> None:
    good = tariff().model_dump(mode="json")
    with pytest.raises(ValidationError, match="published_on and approved_by"):
        Tariff.model_validate({**good, "approved_by": None})
    with pytest.raises(ValidationError, match="effective outside"):
        Tariff.model_validate({**good, "effective": "2027-04-01"})
    # drafts are never read; two files of one version are refused
    (tmp_path / "tariffs").mkdir()
    source = (BLUEPRINTS / "tariffs" / "2026-27.yaml").read_text(encoding="utf-8")
    draft = source.replace("version: 1", "version: 2").replace("status: published", "status: draft")
    (tmp_path / "tariffs" / "2026-27.yaml").write_text(source, encoding="utf-8")
    (tmp_path / "tariffs" / "2026-27.v2.yaml").write_text(draft, encoding="utf-8")
    assert [t.version for t in load_tariffs(tmp_path).versions["2026-27"]] == [1]
    (tmp_path / "tariffs" / "2026-27.copy.yaml").write_text(source, encoding="utf-8")
    with pytest.raises(ValueError, match="version 1 twice"):
        load_tariffs(tmp_path)


def test_the_howto_tariff_version(tmp_path: Path) -> None:
    """fund-the-platform.md: the second version a change request publishes prices from its
    effective day; the first still prices the months before."""
    (snippet,) = snippets(BLUEPRINTS.parent / "docs" / "how-to" / "fund-the-platform.md")
    (tmp_path / "tariffs").mkdir()
    for name in ("2026-27.yaml", "2027-28.yaml"):
        source = (BLUEPRINTS / "tariffs" / name).read_text(encoding="utf-8")
        (tmp_path / "tariffs" / name).write_text(source, encoding="utf-8")
    # tmp_path stands for blueprints/: the snippet's path is relative to the project root
    target = tmp_path / snippet.title.removeprefix("blueprints/")
    target.write_text(snippet.text, encoding="utf-8")
    tariffs = load_tariffs(tmp_path)
    september, october = (
        tariffs.for_day(Month(2026, 9).first),
        tariffs.for_day(Month(2026, 10).first),
    )
    assert (september.version, october.version) == (1, 2)
    assert october.approved_by == "change request CR-2026-014"
    assert september.meters[Meter.SMS_FRAGMENTS].rate_minor == 4
    assert october.meters[Meter.SMS_FRAGMENTS].rate_minor == 3
