"""Every alert's runbook link lands on its own section of docs/operations.md."""

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
RUNBOOK = REPO / "docs" / "operations.md"
ALERTS = REPO / "deploy" / "prometheus" / "alerts.yml"
EXPECTED = [
    "LotteryDrawLagHigh",
    "LotteryOverdueEvents",
    "LotteryWeChatErrorRate",
    "LotteryHTTP5xxRate",
    "LotteryNotReady",
    "LotteryBeaconOverdue",
]


def anchors() -> set[str]:
    """GitHub's anchors: heading text lowercased, punctuation dropped, spaces as hyphens."""
    headings = re.findall(r"^#+ (.+)$", RUNBOOK.read_text(), flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_each_alert_has_a_runbook_section():
    assert {name.lower() for name in EXPECTED} <= anchors()


def test_every_runbook_url_of_the_alert_rules_points_at_an_existing_section():
    if not ALERTS.exists():  # written alongside the metrics; nothing to check before that
        return
    rules = [
        rule
        for group in yaml.safe_load(ALERTS.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]
    for rule in rules:
        url = rule.get("annotations", {}).get("runbook_url", "")
        assert "docs/operations.md#" in url, rule["alert"]
        assert url.rsplit("#", 1)[1] in anchors(), rule["alert"]
