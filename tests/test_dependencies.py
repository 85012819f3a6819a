"""Dependencies point one way (README, "Layout"): each package imports only those below it.

    lottery_site  <-  wechat, beacon  <-  accounts  <-  events  <-  draws, notifications,
                                                                    clientconfig
                                                                    draws <-  live

``lottery_site`` is the plumbing and imports no app; it names them only as strings (settings,
the URL root), which is wiring, not a dependency. ``wechat`` is WeChat's server API (no models),
used by the apps and using none of them; so is ``beacon``, the drand client (no models), used
by ``events``, ``draws`` and ``live``; the two do not import each other. ``draws``,
``notifications`` and ``clientconfig`` (the /config endpoint, not an app: no models) sit side by
side at the top and do not import each other: the draw writes the event log, the notifications
read it. Nothing imports the tests, the benchmarks or the standalone verifier. Imports inside
functions count too.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BELOW = {
    "lottery_site": set(),
    "wechat": {"lottery_site"},
    "beacon": {"lottery_site"},
    "accounts": {"wechat", "beacon", "lottery_site"},
    "events": {"accounts", "wechat", "beacon", "lottery_site"},
    "draws": {"events", "accounts", "wechat", "beacon", "lottery_site"},
    "notifications": {"events", "accounts", "wechat", "beacon", "lottery_site"},
    "clientconfig": {"events", "accounts", "wechat", "beacon", "lottery_site"},
    # Live draws: an event drawn round by round with the draws' allocator and lock.
    "live": {"draws", "events", "accounts", "wechat", "beacon", "lottery_site"},
}
OURS = {*BELOW, "tests", "bench", "tools"}


def imports_of(package: str, root: Path = ROOT) -> dict[str, set[str]]:
    """Our top-level packages each module of ``package`` imports, by module path."""
    found: dict[str, set[str]] = {}
    for path in sorted((root / package).rglob("*.py")):
        names = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
            elif isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
        if ours := (names & OURS) - {package}:
            found[str(path.relative_to(root))] = ours
    return found


@pytest.mark.parametrize("package", sorted(BELOW))
def test_a_package_imports_only_the_layers_below_it(package):
    against = {
        module: sorted(names - BELOW[package])
        for module, names in imports_of(package).items()
        if names - BELOW[package]
    }
    assert against == {}


def test_the_rule_is_checked_on_every_package_of_ours():
    packages = {path.parent.name for path in ROOT.glob("*/__init__.py")}
    assert packages - {"tests"} == set(BELOW)


def test_the_checker_sees_imports_inside_functions_and_ignores_relative_ones(tmp_path):
    (tmp_path / "accounts").mkdir()
    (tmp_path / "accounts" / "late.py").write_text(
        "from . import models\ndef f():\n    import draws.tasks\n    from events import models\n"
    )
    assert imports_of("accounts", tmp_path) == {"accounts/late.py": {"draws", "events"}}
