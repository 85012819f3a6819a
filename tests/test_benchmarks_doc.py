"""Every section of the benchmark pages that the code or the docs name is there to be found.

docs/benchmarks.md holds the commands and the latest figures, docs/benchmarks-archive.md every
earlier figure; code comments, the cache register and the docs name their sections.
"""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PAGES = ("benchmarks.md", "benchmarks-archive.md")
# A section named in a comment or a doc: docs/benchmarks.md, "Issue 10, speed" (or: the "Floors"
# section), across a wrapped comment line or concatenated string literals.
NAMED = re.compile(r'benchmarks(?:-archive)?\.md, (?:the )?"([^"]+)"')
# The cache register's and the tricks' figures: ("Issue 10, speed").
QUOTED_IN_TABLE = re.compile(r'\("([^"]+)"\)')


def headings(page: str) -> list[str]:
    text = re.sub(r"^```.*?^```", "", (REPO / "docs" / page).read_text(), flags=re.M | re.S)
    return re.findall(r"^#+ (.+)$", text, flags=re.M)


def anchor(heading: str) -> str:
    """GitHub's: lowercased, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def unwrapped(text: str) -> str:
    """Wrapped comments and split string literals joined into one line."""
    return re.sub(r"'?\n\s*#?\s*'?", " ", text)


def sources() -> list[Path]:
    code = [
        path
        for path in REPO.glob("*/**/*.py")
        if path.parts[len(REPO.parts)] not in {".venv", "tests"}
        and "node_modules" not in path.parts
    ]
    return [*code, REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def is_a_section(name: str) -> bool:
    name = " ".join(name.removesuffix("...").split())
    return any(h.startswith(name) for page in PAGES for h in headings(page))


def test_every_section_named_in_code_or_docs_is_on_a_benchmark_page():
    missing = {
        f"{path.relative_to(REPO)}: {name}"
        for path in sources()
        for name in NAMED.findall(unwrapped(path.read_text()))
        if not is_a_section(name)
    }
    assert not missing, sorted(missing)


def test_every_figure_of_the_cache_register_names_a_benchmark_section():
    rows = [
        line
        for line in (REPO / "docs" / "architecture.md").read_text().splitlines()
        if line.startswith("|")
    ]
    names = [name for line in rows for name in QUOTED_IN_TABLE.findall(line)]
    assert names, "the register names no section any more: this test looks in the wrong place"
    assert [name for name in names if not is_a_section(name)] == []


def test_every_link_to_a_benchmark_page_finds_its_heading():
    links = [
        (path, page, target)
        for path in [REPO / "README.md", *(REPO / "docs").glob("*.md")]
        for page, target in re.findall(r"(benchmarks(?:-archive)?\.md)#([\w-]+)", path.read_text())
    ]
    assert links
    broken = [
        f"{path.name}: {page}#{target}"
        for path, page, target in links
        if target not in {anchor(h) for h in headings(page)}
    ]
    assert broken == []
