"""The per-machine examples in deploy/nginx/lottery/ are valid nginx with lottery.conf.

tests/test_nginx.py runs lottery.conf with CI's own per-machine files; these are the ones a
deployer copies to /etc/nginx/lottery/, checked with `nginx -t` (which binds no port) and only
the certificate paths pointed at a throwaway certificate.
"""

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import nginx_binary

pytestmark = pytest.mark.nginx
REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "deploy" / "nginx" / "lottery"


def test_production_examples_pass_nginx_t(tmp_path):
    nginx = nginx_binary()
    assert nginx, "nginx is not installed (Debian: apt-get install nginx); .ci/run installs it"
    env = {**os.environ, "PATH": f"{os.environ.get('PATH', '')}:{Path(nginx).parent}"}
    subprocess.run([str(REPO / "deploy/nginx/check-config"), str(tmp_path)], check=True, env=env)
    for name in ("http.conf", "https.conf", "upstream.conf"):
        text = (EXAMPLES / name).read_text()
        text = text.replace(
            "/etc/letsencrypt/live/lottery.example.com/fullchain.pem", str(tmp_path / "cert.pem")
        ).replace(
            "/etc/letsencrypt/live/lottery.example.com/privkey.pem", str(tmp_path / "key.pem")
        )
        (tmp_path / "lottery" / name).write_text(text)
    result = subprocess.run(
        [nginx, "-e", "stderr", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-t"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
