"""nginx -t for what a deployer copies: the per-machine examples and every documented snippet.

tests/test_nginx.py runs lottery.conf with CI's own per-machine files; here are the ones a
deployer copies to /etc/nginx/lottery/, checked with `nginx -t` (which binds no port) and only
the certificate and log paths pointed into a throwaway prefix. Then every ```nginx block of
README.md and docs/*.md, each in the place its `<!-- nginx -t: FILE -->` line names, around the
shipped lottery.conf (docs/operations.md, "Snippets in these docs").
"""

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import nginx_binary

pytestmark = pytest.mark.nginx
REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "deploy" / "nginx" / "lottery"
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
# Where a snippet goes: inside a server block (the per-machine includes) or at http level.
PLACES = ("lottery/http.conf", "lottery/https.conf", "conf.d")
FENCE = re.compile(r"^```nginx[ \t]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
MARKER = re.compile(r"<!-- nginx -t: (\S+) -->\s*\Z")


def documented_snippets() -> list[tuple[str, str | None, str]]:
    """(doc:line, place or None when unmarked, text) for every ```nginx block of the docs."""
    found = []
    for doc in DOCS:
        text = doc.read_text()
        for fence in FENCE.finditer(text):
            before = text[: fence.start()]
            marker = MARKER.search(before.rstrip("\n") + "\n")
            where = f"{doc.relative_to(REPO)}:{before.count(chr(10)) + 1}"
            found.append((where, marker and marker.group(1), fence.group(1)))
    return found


SNIPPETS = documented_snippets()


def prefix_for(tmp_path: Path) -> tuple[str, dict]:
    """check-config's throwaway prefix in tmp_path: nginx's path and the environment it needs."""
    nginx = nginx_binary()
    assert nginx, "nginx is not installed (Debian: apt-get install nginx); .ci/run installs it"
    env = {**os.environ, "PATH": f"{os.environ.get('PATH', '')}:{Path(nginx).parent}"}
    subprocess.run([str(REPO / "deploy/nginx/check-config"), str(tmp_path)], check=True, env=env)
    return nginx, env


def nginx_t(nginx: str, prefix: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [nginx, "-e", "stderr", "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-t"],
        capture_output=True,
        text=True,
    )


def test_production_examples_pass_nginx_t(tmp_path):
    nginx, _ = prefix_for(tmp_path)
    for name in ("http.conf", "https.conf", "upstream.conf", "live-upstream.conf"):
        text = (EXAMPLES / name).read_text()
        text = (
            text.replace(
                "/etc/letsencrypt/live/lottery.example.com/fullchain.pem",
                str(tmp_path / "cert.pem"),
            )
            .replace(
                "/etc/letsencrypt/live/lottery.example.com/privkey.pem", str(tmp_path / "key.pem")
            )
            .replace("/var/log/nginx/", f"{tmp_path}/")
        )
        (tmp_path / "lottery" / name).write_text(text)
    result = nginx_t(nginx, tmp_path)
    assert result.returncode == 0, result.stderr


def test_the_https_example_logs_request_ids():
    """The request id reaches nginx's access log only through this line (log_format lottery)."""
    lines = (EXAMPLES / "https.conf").read_text().splitlines()
    assert "access_log /var/log/nginx/lottery-access.log lottery;" in lines


def test_every_nginx_snippet_in_the_docs_says_where_it_goes():
    assert len(SNIPPETS) >= 2, "the docs' snippets were not found: has the fence syntax changed?"
    unmarked = [where for where, place, _ in SNIPPETS if place not in PLACES]
    assert not unmarked, f"an nginx block needs <!-- nginx -t: {'|'.join(PLACES)} --> above it"


@pytest.mark.parametrize(
    ("place", "snippet"),
    [(place, text) for _, place, text in SNIPPETS],
    ids=[w for w, *_ in SNIPPETS],
)
def test_documented_snippet_passes_nginx_t_where_it_goes(tmp_path, place, snippet):
    nginx, _ = prefix_for(tmp_path)
    # Paths the snippet names on a production machine, pointed into the prefix.
    snippet = snippet.replace("/var/log/nginx/", f"{tmp_path}/")
    if place == "conf.d":
        (tmp_path / "snippet.conf").write_text(snippet)
        config = tmp_path / "nginx.conf"
        text = config.read_text()
        shipped = re.search(r"^\s*include \S+/lottery\.conf;$", text, re.MULTILINE).group(0)
        config.write_text(text.replace(shipped, f"{shipped}\n    include {tmp_path}/snippet.conf;"))
    else:
        with (tmp_path / place).open("a") as include:
            include.write("\n" + snippet)
    result = nginx_t(nginx, tmp_path)
    assert result.returncode == 0, result.stderr
