"""Every audit action has words a person reads, in English and Simplified Chinese (issue 19):
a new action without a label fails here, not on a page in front of an officer."""

from __future__ import annotations

from civicloom.audit import AuditAction
from civicloom.backoffice.labels import action_label, action_labels, actor_label
from civicloom.web import translations_for


def test_every_action_has_a_label_and_a_chinese_one() -> None:
    english = action_labels()
    chinese = action_labels(translations_for("zh-Hans").gettext)
    for action in AuditAction:
        assert english[action.value] != action.value, action
        assert chinese[action.value] != english[action.value], action


def test_known_labels() -> None:
    assert action_label("task.taken_over") == "Task taken over by a supervisor"
    assert action_label("information.provided", translations_for("zh-Hans").gettext) == (
        "申请人已补充信息"
    )
    assert action_label("something.from_an_older_release") == "Recorded"


def test_who_acted_in_words() -> None:
    people = {"olivia": "Olivia Grant"}
    assert actor_label("dev-login:olivia", people) == "Olivia Grant"
    assert actor_label("oidc-staff:olivia", people) == "Olivia Grant"
    assert actor_label("system:case-engine", people) == "The platform"
    assert actor_label("api-key:la-system", people) == "A department system"
    assert actor_label("oidc-citizen:alice", people) == "The applicant"
