"""The how-to snippet markers (ADR 0031): what is a file, what is appended, what is run."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.howtos import Snippet, apply, snippets

PAGE = """# A page

```yaml title="blueprints/things/a.yaml"
id: a
```

```yaml
illustration: not a file
```

```yaml title="blueprints/list.yaml" append="items"
items:
  # … the existing ones …
  - name: added
```

```sh title="shell"
# a comment
civicloom --help
```
"""


def test_titled_blocks_in_document_order(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(PAGE, encoding="utf-8")
    assert snippets(page) == [
        Snippet("blueprints/things/a.yaml", None, "id: a\n"),
        Snippet(
            "blueprints/list.yaml",
            "items",
            "items:\n  # … the existing ones …\n  - name: added\n",
        ),
        Snippet("shell", None, "# a comment\ncivicloom --help\n"),
    ]


def test_files_are_written_and_lists_appended(tmp_path: Path) -> None:
    (tmp_path / "blueprints").mkdir()
    (tmp_path / "blueprints" / "list.yaml").write_text("items:\n  - name: first\n", "utf-8")
    page = tmp_path / "page.md"
    page.write_text(PAGE, encoding="utf-8")
    whole, appended, _ = snippets(page)
    apply(whole, tmp_path, {})
    apply(appended, tmp_path, {})
    assert (tmp_path / "blueprints" / "things" / "a.yaml").read_text("utf-8") == "id: a\n"
    listed = yaml.safe_load((tmp_path / "blueprints" / "list.yaml").read_text("utf-8"))
    assert listed == {"items": [{"name": "first"}, {"name": "added"}]}


def test_a_snippet_cannot_leave_the_project(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="leaves the project"):
        apply(Snippet("../outside.yaml", None, "x: 1\n"), tmp_path / "project", {})


def test_a_shell_block_runs_civicloom_only(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="runs civicloom only"):
        apply(Snippet("shell", None, "rm -rf blueprints\n"), tmp_path, {})
