"""Whom a licence names: the blueprint's declared holder, or — for versions published before
holders were declared — what those versions' licences printed."""

from __future__ import annotations

from civicloom.catalogue.spec import HolderSpec
from civicloom.documents.issuing import holder_of

DATA = {
    "business_name": "Golden Dragon Kitchen Ltd",
    "business_registration_number": "BR-2019-004211",
    "premises_address": "12 Harbour Street",
    "contact_email": "alice@example.org",
}


def test_a_version_without_a_declared_holder_names_the_business() -> None:
    holder, premises = holder_of(None, "alice", DATA)
    assert holder == {
        "name": "Golden Dragon Kitchen Ltd",
        "registration_number": "BR-2019-004211",
    }
    assert premises == "12 Harbour Street"


def test_an_address_change_names_the_new_address() -> None:
    holder, premises = holder_of(None, "alice", {"new_address": "7 Lantern Quay, Riverton"})
    assert holder == {"name": "alice", "registration_number": None}
    assert premises == "7 Lantern Quay, Riverton"


def test_a_declared_holder_is_read_from_the_answers() -> None:
    declared = HolderSpec(name="$.data.business_name", address="$.data.premises_address")
    holder, premises = holder_of(declared, "alice", DATA)
    assert holder == {"name": "Golden Dragon Kitchen Ltd", "registration_number": None}
    assert premises == "12 Harbour Street"
