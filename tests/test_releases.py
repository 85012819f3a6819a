"""Releases are tagged, with a changelog, and CI knows which one came before (docs/operations.md)."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CHANGELOG = REPO / "CHANGELOG.md"


def previous_release() -> tuple[str, str]:
    lines = (REPO / ".ci" / "previous-release").read_text().splitlines()
    tag, commit = next(line.split() for line in lines if line.strip() and line[0] != "#")
    return tag, commit


def test_the_previous_release_is_a_version_tag_and_a_full_commit():
    tag, commit = previous_release()
    assert re.fullmatch(r"v\d+\.\d+\.\d+", tag)
    assert re.fullmatch(r"[0-9a-f]{40}", commit)


def test_the_changelog_opens_with_unreleased_and_has_the_previous_release():
    headings = re.findall(r"^## \[([^\]]+)\](.*)$", CHANGELOG.read_text(), flags=re.MULTILINE)
    assert headings[0][0] == "Unreleased"
    for version, rest in headings[1:]:
        assert re.fullmatch(r"\d+\.\d+\.\d+", version)
        assert re.fullmatch(r" - \d{4}-\d{2}-\d{2}", rest)
    tag, _ = previous_release()
    assert tag.removeprefix("v") in [version for version, _ in headings]


def test_the_previous_release_tag_when_present_is_the_recorded_commit():
    if not shutil.which("git") or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    tag, commit = previous_release()
    tagged = subprocess.run(
        ["git", "rev-parse", "--verify", "-q", f"refs/tags/{tag}^{{commit}}"],
        cwd=REPO,
        capture_output=True,
        text=True,
    ).stdout.strip()
    if not tagged:
        pytest.skip(f"this clone has no tag {tag} (CI reads the commit then)")
    assert tagged == commit


def test_ci_checks_the_migration_rule_and_runs_the_previous_release():
    ci = (REPO / ".ci" / "run").read_text()
    assert ".venv/bin/python .ci/check_migrations.py" in ci
    assert "python3 .ci/previous_release.py" in ci
