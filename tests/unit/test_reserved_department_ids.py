"""A department may not take a sender name the platform uses for its own completions."""

from __future__ import annotations

from pathlib import Path

import pytest

from civicloom.departments import load_departments
from civicloom.kernel import ValidationFailed

DEPARTMENT = """\
id: {id}
name: {{en: Payments Office, zh-Hans: 支付办公室}}
system: modern
roles: [officer]
"""


def write(tmp_path: Path, department_id: str) -> Path:
    (tmp_path / "departments").mkdir()
    (tmp_path / "departments" / f"{department_id}.yaml").write_text(
        DEPARTMENT.format(id=department_id), encoding="utf-8"
    )
    return tmp_path


def test_a_department_called_payments_is_refused_naming_the_file_and_field(
    tmp_path: Path,
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        load_departments(write(tmp_path, "payments"))
    [error] = refused.value.errors
    assert error.field == "payments.yaml:id"
    assert "reserved" in error.message


def test_a_department_with_another_name_loads(tmp_path: Path) -> None:
    [department] = load_departments(write(tmp_path, "payment-office"))
    assert department.id == "payment-office"
