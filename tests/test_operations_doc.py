"""Every alert has a runbook section in docs/operations.md, and a test or drill that ran it."""

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
RUNBOOK = REPO / "docs" / "operations.md"
ALERTS = REPO / "deploy" / "prometheus" / "alerts.yml"
# A cell of the "runbook run by" column: a test (path::name) or a recorded drill (a file).
TEST_REF = re.compile(r"^(tests/[\w/]+\.py)::(test_\w+)$")
DRILL_REF = re.compile(r"^docs/drills/[\w./-]+\.md$")


def anchors() -> set[str]:
    """GitHub's anchors: heading text lowercased, punctuation dropped, spaces as hyphens."""
    headings = re.findall(r"^#+ (.+)$", RUNBOOK.read_text(), flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def alert_rules() -> list[dict]:
    return [
        rule
        for group in yaml.safe_load(ALERTS.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]


def runbook_table() -> dict[str, tuple[str, list[str]]]:
    """The table of the "Alerts" section: alert -> (severity, what ran its runbook)."""
    section = RUNBOOK.read_text().split("\n## Alerts\n", 1)[1].split("\n### ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and re.fullmatch(r"Lottery\w+", cells[0]):
            rows[cells[0]] = (cells[1], re.findall(r"`([^`]+)`", cells[2]))
    return rows


def test_each_alert_has_a_runbook_section():
    names = {rule["alert"].lower() for rule in alert_rules()}
    assert names and names <= anchors(), names - anchors()


def test_every_runbook_url_of_the_alert_rules_points_at_an_existing_section():
    for rule in alert_rules():
        url = rule.get("annotations", {}).get("runbook_url", "")
        assert "docs/operations.md#" in url, rule["alert"]
        assert url.rsplit("#", 1)[1] in anchors(), rule["alert"]


def test_each_alert_names_the_test_or_drill_that_ran_its_runbook_with_its_severity():
    table = runbook_table()
    for rule in alert_rules():
        name = rule["alert"]
        assert name in table, f"{name}: no row in the table of docs/operations.md, Alerts"
        severity, refs = table[name]
        assert severity == rule["labels"]["severity"], name
        assert refs, f"{name}: no test or drill named"
    assert set(table) <= {rule["alert"] for rule in alert_rules()}, "a row for no alert"


def test_every_test_and_drill_the_table_names_exists():
    for name, (_, refs) in runbook_table().items():
        for ref in refs:
            test = TEST_REF.match(ref)
            if test:
                path, function = REPO / test[1], test[2]
                assert path.exists(), f"{name}: {ref}"
                assert re.search(rf"^def {function}\(", path.read_text(), re.MULTILINE), ref
            else:
                assert DRILL_REF.match(ref) and (REPO / ref).exists(), f"{name}: {ref}"
